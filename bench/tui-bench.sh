#!/usr/bin/env bash
# bench/tui-bench.sh — fleetdeck's dashboard against its peers, in a real terminal.
#
# The question (issues: "TUI cost against peers", "terminal bytes per minute"): what
# does it cost to leave the dashboard open? For the client: its CPU seconds, its peak
# memory and the bytes it writes to the terminal (on a slow SSH link or a laptop
# battery those bytes are the cost). For the server side: the CPU its requests cost
# the Docker daemons. Each figure is measured for fleetdeck and, in the same run and
# the same conditions, for `docker stats` and — when they are installed — dtop and
# oxker (`cargo install`), so the table compares like with like on a shared, noisy
# machine.
#
# Scenarios:
#   a   one daemon (lab1, unix socket) with N idle containers (plus its seed ones)
#   b   three daemons (lab1 unix, lab2 and lab3 over TCP) with N idle containers each.
#       `docker stats` and oxker watch a single daemon: they run against lab1 only
#       (their row says so); fleetdeck and dtop watch all three.
#
# Rows ("tools"; BENCH_TOOLS picks and orders them):
#   baseline       nothing runs: the daemons' own idle cost (healthchecks of the seed
#                  containers, lab3's crashloop) in a window of the same length. Every
#                  other row's "net" column is its daemon CPU minus this.
#   fd-c1          fleetdeck, containers view (`--view containers`), [stats]
#                  interval_s = 1: the same 1 s sampling interval as docker stats, so
#                  the daemon-side cost is compared at equal sampling rates
#   fd-c2          fleetdeck, containers view, its default 2 s interval
#   fd-k1          fleetdeck, clusters view (the start-up view, no key), 1 s interval:
#                  the same data collection as fd-c1, a different screen
#   docker-stats   `docker stats` (one stats stream per running container, redraws
#                  the whole table every second)
#   dtop, oxker    if `command -v` finds them (PATH plus BENCH_PEER_PATH); else the row
#                  is skipped and the report says so
#
# How one row is measured (D seconds, default 30):
#   - the tool runs in its own tmux session of 200x50 on a private tmux server
#     (-L), started as `tmux wait-for GO; exec TOOL`, so the pane's pid IS the tool
#     and nothing is written before the byte capture is in place;
#   - `tmux pipe-pane -O 'cat >> FILE'` copies everything the tool writes to its pty
#     (escape sequences included) to FILE: FILE's size is the bytes written to the
#     terminal. Taken at the end of the window, before the tool is stopped, so the
#     exit's screen restore is not counted (start-up's screen set-up is);
#   - window start: snapshot of the daemons' CPU, then release the tool (wait-for -S);
#   - window end (D s later): the daemons' CPU again; the tool's CPU: from a cgroup of
#     its own (cpuacct on cgroup v1, cpu.stat on v2; root), in nanoseconds, every thread
#     and child counted, exited ones too; the table's CPU figures then have three
#     decimals. Without a writable cgroup hierarchy: utime+stime (+ cutime and cstime:
#     reaped children) from /proc/PID/stat, plus any live descendants, in 10 ms ticks;
#     its peak RSS (VmHWM from /proc/PID/status); the screen (capture-pane, kept in
#     the output dir so a reader can see what each tool showed); then the session is
#     killed (SIGHUP to the tool, TERM/KILL if it lingers).
#   - The tool's CPU therefore includes its start-up (connect, first list/inspect),
#     for every tool alike: that is what a user pays for "open it for 30 s".
#   - At WARMUP s (default 10) the tool's CPU, the bytes and the daemons' CPU are read
#     once more. The "after warm-up" columns are rates per minute from there to the
#     end: what leaving the dashboard open costs, without the start-up (first paint,
#     first list/inspect, fleetdeck's event backfill). In a 30 s window the start-up
#     is most of the bytes every tool writes, so the per-minute terminal figure asked
#     for ("bytes per minute for the containers view") is this column, not 2 × the
#     30 s total.
#   - Daemon CPU = utime+stime of each involved lab's dockerd, its children
#     (containerd, docker-proxy) and every containerd-shim-runc-v2 of that lab (shims
#     re-parent to PID 1; found by their -address /run/fdl/I/...). CPU spent after the
#     window (stream tear-down) is not counted; SETTLE seconds of quiet separate rows.
#   - host% = busy CPU of the whole machine in the window / (window × 1 core): 200 %
#     is both cores. Far above the tool+daemon share means other work was running and
#     the row is noisier.
#   - lab ev = Docker events on the involved daemons during the window, healthcheck
#     exec_* events left out. None of the tools creates any, so a non-zero count means
#     a test was creating/starting/removing containers on the lab at the same time,
#     and that row's daemon figure includes that work.
#
# Every container this script makes is labelled fleetdeck.bench=1 (the same label as
# bench/stats-cost.sh), runs `sh -c 'trap "exit 0" TERM; sleep 100000 & wait'`
# (busybox:local, the lab's only image) and is removed at the end, also on Ctrl-C,
# TERM or an error. lab4 is never touched (a chaos test kills and restarts it), and no
# daemon is stopped or restarted.
#
# Knobs (environment):
#   BENCH_N=50            idle containers per involved daemon
#   BENCH_D=30            seconds per row
#   BENCH_RUNS=2          repetitions of each scenario (even runs go in reverse order,
#                         so a drift in background load does not always hit one tool)
#   BENCH_SCENARIOS="a b"
#   BENCH_TOOLS="baseline fd-c1 fd-c2 fd-k1 docker-stats dtop oxker"
#   BENCH_SETTLE=5        seconds of quiet before each row
#   BENCH_KEY_DELAY=1     seconds after start before a KEY is sent (no row sends one now)
#   BENCH_WARMUP=10       seconds after start when the "after warm-up" rates begin
#   BENCH_QUIET=60        before each row, wait until the machine's busy CPU over 3 s
#                         is below this % of one core (builds and test suites share
#                         the machine and the lab) ...
#   BENCH_QUIET_MAX=180   ... but for at most this many seconds (then the row runs
#                         anyway and host % shows it)
#   BENCH_OUT=DIR         where results.tsv, the byte captures and the final screens
#                         go (default: a new /tmp/tui-bench.XXXXXX, kept)
#   BENCH_PEER_PATH=/work/peer-tools/bin   extra PATH entry for dtop/oxker
#   FLEETDECK=PATH        the binary (default: target/dist/fleetdeck of this repo;
#                         build it with `cargo build --profile dist --locked`)
#
# Usage (as root: the lab's sockets and other users' /proc; the lab must be up):
#   cargo build --profile dist --locked && bench/tui-bench.sh
#   BENCH_SCENARIOS=a BENCH_RUNS=1 BENCH_TOOLS="baseline fd-c1 docker-stats" bench/tui-bench.sh
#   # optional peers (dtop 0.10.5+ needs rustc 1.98; 0.10.2 builds with older ones):
#   cargo install dtop --version 0.10.2 --locked --root /work/peer-tools
#   cargo install oxker --locked --root /work/peer-tools
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"   # /proc readers, daemon pids, bench containers, tmux sessions
N=${BENCH_N:-50}
D=${BENCH_D:-30}
RUNS=${BENCH_RUNS:-2}
SCENARIOS=${BENCH_SCENARIOS:-a b}
TOOLS=${BENCH_TOOLS:-baseline fd-c1 fd-c2 fd-k1 docker-stats dtop oxker}
SETTLE=${BENCH_SETTLE:-5}
KEY_DELAY=${BENCH_KEY_DELAY:-1}
WARMUP=${BENCH_WARMUP:-10}
QUIET=${BENCH_QUIET:-60}
QUIET_MAX=${BENCH_QUIET_MAX:-180}
PEER_PATH=${BENCH_PEER_PATH:-/work/peer-tools/bin}
FLEETDECK=${FLEETDECK:-$REPO/target/dist/fleetdeck}
COLS=200
ROWS=50

BENCH_LABS=(1 2 3)   # the daemons this script may put containers on; never lab4

log() { printf 'tui-bench: %s\n' "$*" >&2; }
die() { printf 'tui-bench: ERROR: %s\n' "$*" >&2; exit 1; }
# The URL a tool is given for lab I: lab1 over its unix socket, lab2/lab3 over TCP
# (as in the lab's fleetdeck.toml), so scenario b includes real network endpoints.
url() { if [[ $1 == 1 ]]; then printf 'unix://%s' "$(sock 1)"; else printf 'tcp://10.203.%s.2:2375' "$1"; fi; }

[[ $N =~ ^[1-9][0-9]*$ && $D =~ ^[1-9][0-9]*$ && $RUNS =~ ^[1-9][0-9]*$ ]] \
  || die "BENCH_N, BENCH_D, BENCH_RUNS must be positive integers"
if ! [[ $WARMUP =~ ^[0-9]+$ ]] || ! (( WARMUP > KEY_DELAY && D > WARMUP + 4 )); then
  die "need BENCH_KEY_DELAY < BENCH_WARMUP < BENCH_D - 4"
fi
for t in docker tmux awk ps stat; do command -v "$t" >/dev/null || die "needs $t"; done
for i in "${BENCH_LABS[@]}"; do
  [[ -S $(sock "$i") && -r $LAB_RUN/lab$i/dockerd.pid ]] || die "lab$i is not up (scripts/lab.sh ensure)"
done
[[ -x $FLEETDECK ]] || die "no fleetdeck binary at $FLEETDECK (cargo build --profile dist --locked, or FLEETDECK=...)"
[[ -d $PEER_PATH ]] && PATH="$PATH:$PEER_PATH"

OUT=${BENCH_OUT:-$(mktemp -d /tmp/tui-bench.XXXXXX)}
mkdir -p "$OUT"
# Every tool gets the same empty HOME/XDG dirs: defaults only, no user config file
# (dtop also reads ./config.yaml: it runs in an empty directory).
HOMEDIR=$OUT/home
mkdir -p "$HOMEDIR/.config" "$HOMEDIR/state" "$HOMEDIR/cwd"
TSOCK=tui-bench-$$                      # a private tmux server: no other session is touched

# ----------------------------------------------------------------- cleanup --

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  T kill-server 2>/dev/null || true     # our own server only (-L), with its tools
  cg_remove_all
  local i ids
  for i in "${BENCH_LABS[@]}"; do
    [[ -S $(sock "$i") ]] || continue
    ids=$(dk "$i" ps -aq --filter "label=$LABEL" 2>/dev/null || true)
    if [[ -n $ids ]]; then
      log "removing $(wc -w <<<"$ids") bench containers from lab$i"
      # rm -f in parallel batches: 50 one-by-one removals take a while.
      xargs -r -n 10 -P 4 docker -H "unix://$(sock "$i")" rm -f <<<"$ids" >/dev/null 2>&1 || true
    fi
  done
  log "results, byte captures and final screens kept in $OUT"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------- tools --

# tool_cmd TOOL SCENARIO_LABS... -> sets CMDLINE (shell text run in the pane), KEY
# (sent after KEY_DELAY s, or empty), NOTE; returns 1
# if the tool is not installed.
tool_cmd() {
  local tool=$1; shift
  local labs=("$@")
  KEY=""; NOTE=""
  local envs; envs=$(tool_env)
  case $tool in
    fd-c1|fd-c2|fd-k1)
      local iv=1 cfg; [[ $tool == fd-c2 ]] && iv=2
      cfg=$OUT/fleetdeck-$tool-${#labs[@]}.toml
      fd_config "$cfg" "$iv" "${labs[@]}"
      # Opens on its view (--view), as the peers open on their container list.
      local view=containers; [[ $tool == fd-k1 ]] && view=clusters
      CMDLINE="$envs $(q "$FLEETDECK") --config $(q "$cfg") --view $view"
      NOTE="$([[ $tool == fd-k1 ]] && echo clusters || echo containers) view, stats every ${iv} s" ;;
    docker-stats)
      # One daemon only: the docker CLI has no multi-daemon view.
      CMDLINE="$envs DOCKER_HOST=$(q "$(url 1)") docker stats"
      NOTE="streams, 1 s"
      if (( ${#labs[@]} > 1 )); then NOTE+="; lab1 only (one daemon per docker CLI)"; fi ;;
    dtop)
      # dtop watches several hosts (repeated --host, unix:// and tcp:// alike).
      CMDLINE=$(dtop_cmdline "${labs[@]}") || return 1
      NOTE="defaults" ;;
    oxker)
      command -v oxker >/dev/null || return 1
      CMDLINE="$envs DOCKER_HOST=$(q "$(url 1)") $(q "$(command -v oxker)") --host $(q "$(url 1)")"
      NOTE="defaults"
      if (( ${#labs[@]} > 1 )); then NOTE+="; lab1 only (one daemon per oxker)"; fi ;;
    *) die "unknown tool '$tool'" ;;
  esac
}

RESULTS=$OUT/results.tsv
[[ -e $RESULTS ]] || printf 'date\tscenario\trun\ttool\twin_s\tcpu_s\trss_mb\tbytes\tdaemon_s\tper_lab_s\thost_pct\tlab_events\tsteady_s\tcpu_s_per_min\tkb_per_min\tdaemon_s_per_min\tnote\n' >"$RESULTS"

# measure SCENARIO RUN TOOL LAB... — one row.
measure() {
  local sc=$1 run=$2 tool=$3; shift 3
  local labs=("$@") i pidf=() name="$sc-$run-$tool"
  for i in "${labs[@]}"; do daemon_pids "$i" >"$OUT/pids.lab$i"; pidf+=("$OUT/pids.lab$i"); done
  sleep "$SETTLE"
  wait_quiet
  local t0 tw t1 h0 h1 d0 dw d1 cpu=0 cpuw=0 ns="" nsw="" rss=0 bytes=0 bytesw=0 pid="" dead=0 note tty=/dev/null
  if [[ $tool == baseline ]]; then
    note="nothing running"
    baseline_window "${pidf[@]}"
  else
    tool_cmd "$tool" "${labs[@]}" || { log "$tool: not installed, skipped"; return; }
    note=$NOTE
    tty=$OUT/$name.tty
    # The pane waits for GO before exec'ing the tool; pipe-pane is in place first.
    tool_open "$name" "$CMDLINE" "$tty"; pid=$TOOL_PID
    cg_join "$name" "$pid"
    t0=$EPOCHREALTIME; h0=$(host_busy); d0=$(daemon_snapshot "${pidf[@]}")
    tool_go "$name"
    if [[ -n $KEY ]]; then
      sleep "$KEY_DELAY"
      T send-keys -t "$name" "$KEY"
    fi
    # End of the warm-up: start-up (connect, first list and inspect, first paint,
    # event backfill) is over; what follows is what the tool costs while left open.
    sleep_until "$t0" "$WARMUP"
    tw=$EPOCHREALTIME; dw=$(daemon_snapshot "${pidf[@]}")
    cpuw=$(ticks_tree "$pid"); nsw=$(cg_ns); bytesw=$(stat -c %s "$tty")
    sleep_until "$t0" "$D"
    # Window end: everything read before the tool is stopped.
    d1=$(daemon_snapshot "${pidf[@]}"); h1=$(host_busy); t1=$EPOCHREALTIME
    cpu=$(ticks_tree "$pid"); ns=$(cg_ns)
    rss=$(peak_rss_kb "$pid")
    bytes=$(stat -c %s "$tty")
    # kill-session HUPs the tool; one that lingers (our own pid) gets TERM, then KILL.
    tool_close "$name" "$pid" "$OUT/$name.screen"; dead=$TOOL_DEAD
    cg_remove
    [[ $dead == 1 ]] && note+="; EXITED EARLY (see $name.screen)"
    [[ -n $KEY ]] && ! grep -qi 'name' "$OUT/$name.screen" && note+="; containers view not seen on screen"
  fi
  local ev; ev=$(lab_events "$t0" "$t1" "${labs[@]}")
  # The lab is shared: a test run may restart it (`scripts/lab.sh up` starts clean),
  # which takes our containers with it. Such a row is marked, not silently kept.
  for i in "${labs[@]}"; do
    [[ $(head -1 "$OUT/pids.lab$i") == "$(cat "$LAB_RUN/lab$i/dockerd.pid" 2>/dev/null)" ]] \
      || note+="; LAB$i DOCKERD CHANGED DURING THE ROW"
    (( $(dk "$i" ps -q --filter "label=$LABEL" --filter status=running | wc -l) == N )) \
      || note+="; LAB$i BENCH CONTAINERS MISSING"
  done
  # One TSV row; all arithmetic in awk (ticks -> s, kB -> MB, rates per minute).
  awk -v sc="$sc" -v run="$run" -v tool="$tool" -v t0="$t0" -v tw="$tw" -v t1="$t1" \
      -v cpu="$cpu" -v cpuw="$cpuw" -v ns="$ns" -v nsw="$nsw" -v rss="${rss:-0}" -v bytes="$bytes" -v bytesw="$bytesw" \
      -v d0="$d0" -v dw="$dw" -v d1="$d1" -v h0="$h0" -v h1="$h1" -v ev="$ev" -v note="$note" \
      -v tck="$TCK" -v isbase="$([[ $tool == baseline ]] && echo 1 || echo 0)" -v date="$(date -u +%FT%TZ)" 'BEGIN {
    n = split(d0, a, " "); split(dw, m, " "); split(d1, b, " "); tot = 0; st = 0; per = ""
    for (k = 1; k <= n; k++) { x = (b[k] - a[k]) / tck; tot += x; st += (b[k] - m[k]) / tck; per = per (k > 1 ? " " : "") sprintf("%.2f", x) }
    w = t1 - t0; ws = t1 - tw
    if (isbase) { c = "-"; r = "-"; by = "-"; cs = "-"; bs = "-" }
    else {
      c = sprintf("%.2f", cpu / tck); r = sprintf("%.1f", rss / 1024); by = bytes
      cs = sprintf("%.2f", (cpu - cpuw) / tck / ws * 60)
      # From the cgroup when there is one: to the millisecond, not to the 10 ms tick.
      if (ns != "" && nsw != "") { c = sprintf("%.3f", ns / 1e9); cs = sprintf("%.3f", (ns - nsw) / 1e9 / ws * 60) }
      bs = sprintf("%.1f", (bytes - bytesw) / 1024 / ws * 60)
    }
    printf "%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%.2f\t%s\t%.0f\t%s\t%.1f\t%s\t%s\t%.2f\t%s\n", date, sc, run, tool, w, c, r, by, tot, per,
      (h1 - h0) / tck / w * 100, ev, ws, cs, bs, st / ws * 60, note
  }' >>"$RESULTS"
}

# ------------------------------------------------------------------ report --

# Columns: the whole window (what "open it for D s" costs, start-up included), then
# the rates after the warm-up (what leaving it open costs, per minute). "net" is
# always the row's daemon figure minus the same run's baseline row.
report() {   # SCENARIO RUN LABS...
  local sc=$1 run=$2; shift 2
  local labs=("$@") facts="" i tot
  for i in "${labs[@]}"; do
    tot=$(dk "$i" ps -q | wc -l)
    facts+="${facts:+, }lab$i $(url "$i") ($tot running: $N bench + $(( tot - N )) others)"
  done
  echo
  printf '#### Scenario %s, run %s — %s, %s s windows (rates after a %s s warm-up), tmux %sx%s, %s\n\n' \
    "$sc" "$run" "$(date -u '+%F %H:%M UTC')" "$D" "$WARMUP" "$COLS" "$ROWS" "$facts"
  awk -F'\t' -v sc="$sc" -v run="$run" '
    $2 == sc && $3 == run {
      row[++n] = $0
      if ($4 == "baseline") { base = $9; bst = $16; k = split($10, p, " "); for (j = 1; j <= k; j++) bl[j] = p[j] }
    }
    END {
      print "| tool | CPU s | peak RSS MB | KB written | daemon CPU s (net) | CPU s/min after warm-up | KB/min after warm-up | daemon net s/min after warm-up | host % | lab ev | notes |"
      print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
      for (r = 1; r <= n; r++) {
        split(row[r], f, "\t")
        if (f[4] == "baseline") {
          printf "| baseline | - | - | - | %.2f | - | - | (%.2f) | %s | %s | %s |\n", f[9], f[16], f[11], f[12], f[17]; continue
        }
        net = (base != "") ? sprintf("%+.2f", f[9] - base) : "?"
        nst = (bst != "") ? sprintf("%+.2f", f[16] - bst) : "?"
        per = ""
        m = split(f[10], p, " ")
        if (m > 1 && base != "") { for (j = 1; j <= m; j++) per = per (j > 1 ? " / " : "") sprintf("%+.2f", p[j] - bl[j]); per = "; net per lab " per }
        printf "| %s | %s | %s | %.1f | %.2f (%s) | %s | %s | %s | %s | %s | %s%s |\n", f[4], f[6], f[7], f[8] / 1024, f[9], net, f[14], f[15], nst, f[11], f[12], f[17], per
      }
    }' "$RESULTS"
}

# -------------------------------------------------------------------- main --

log "output in $OUT; fleetdeck $FLEETDECK"
{
  echo "# $(date -u +%FT%TZ) host $(uname -r), $(nproc) cores, docker client $(docker version --format '{{.Client.Version}}' 2>/dev/null), engine $(dk 1 version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), $(tmux -V)"
  echo "# fleetdeck: $("$FLEETDECK" --version 2>/dev/null || echo '?') ($FLEETDECK)"
  for t in dtop oxker; do
    if command -v "$t" >/dev/null; then echo "# $t: $("$t" --version 2>/dev/null | head -1) ($(command -v "$t"))"; else echo "# $t: not installed, skipped"; fi
  done
} | tee "$OUT/header.txt"

scenario_row() {   # RUN TOOL, of scenario $sc on LABS
  log "scenario $sc run $1: $2 (${D} s)"
  measure "$sc" "$1" "$2" "${LABS[@]}"
}
scenario_report() { report "$sc" "$1" "${LABS[@]}"; }
for sc in $SCENARIOS; do
  case $sc in a) LABS=(1) ;; b) LABS=(1 2 3) ;; *) die "unknown scenario '$sc' (a, b)" ;; esac
  for i in "${BENCH_LABS[@]}"; do
    if [[ " ${LABS[*]} " == *" $i "* ]]; then ensure_bench "$i" "$N"; else ensure_bench "$i" 0; fi
  done
  log "scenario $sc: settling 10 s after the containers' start-up"
  sleep 10
  each_run scenario_row scenario_report
done
echo
echo "# net of baseline: the row's daemon CPU minus the same run's baseline row (same daemons, same window length)."
echo "# host %: busy CPU of the whole machine over the window (200 % = both cores); lab ev: non-healthcheck"
echo "# Docker events on the involved daemons in the window (someone else's work); raw data: $RESULTS"
