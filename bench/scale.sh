#!/usr/bin/env bash
# bench/scale.sh — fleetdeck against dtop on a fleet of real daemons (issue 22, "Scale and
# latency").
#
# The question: with forty Docker hosts and a thousand running containers, what does
# leaving the dashboard open cost the client and the hosts, how long until the first
# screen shows the whole fleet, and how fast does the screen answer a key? Measured for
# fleetdeck and, in the same run and the same conditions, for dtop (a multi-host peer),
# so the table compares like with like on a shared, noisy machine.
#
# The fleet: `scripts/lab.sh extra FIRST N` starts N empty lab daemons labFIRST..
# (default lab11..lab50: network namespace fdlabI, tcp://10.203.I.2:2375; not in the
# lab's fleetdeck.toml, so no test sees them), and each gets M sleeping containers
# (busybox:local, label fleetdeck.bench=1, `sh -c 'trap "exit 0" TERM; sleep 100000 &
# wait'`, started in parallel). Both tools are given every daemon over TCP, as a real
# fleet's daemons are remote. The lab's own daemons (lab1..lab7) are never touched.
#
# Rows ("tools"; BENCH_TOOLS picks and orders them):
#   baseline   nothing runs: the fleet's own idle cost in a window of the same length;
#              every other row's daemon "net" is its daemon CPU minus this
#   fd         fleetdeck --view containers, default settings (one [[endpoint]] per
#              daemon, one cluster; no [stats] section)
#   dtop       dtop --host tcp://... for every daemon, default settings (if `command -v`
#              finds it on PATH or BENCH_PEER_PATH; else the row is skipped)
#   soak       fleetdeck alone for BENCH_SOAK_MIN minutes (default 30) as `fd` runs it,
#              while BENCH_CHURN bench containers (default 20, spread over the daemons) are
#              restarted every BENCH_CHURN_EVERY s (default 10) through the API; every
#              BENCH_SOAK_EVERY s (default 60) it records fleetdeck's RSS, anonymous memory
#              (RssAnon), peak RSS, threads, open descriptors and CPU, into soak.tsv and a
#              table in report.md. Flat anonymous memory once the bounded histories have
#              filled is the pass; the table says the growth over the last 20 minutes. Not in
#              the default BENCH_TOOLS (it takes half an hour): BENCH_TOOLS=soak
#
# How one row is measured (the session tooling is bench/lib.sh's, shared with
# bench/tui-bench.sh, whose header explains it further):
#   - the tool runs in a tmux session of 200x50 on a private tmux server, started as
#     `tmux wait-for GO; exec TOOL` in an empty directory with an empty HOME;
#     `pipe-pane -O` copies every byte it writes to the terminal to a file;
#   - window (D s, default 30): snapshot of the daemons' CPU and the machine's, release
#     the tool; at WARMUP s (default 10) and at D s the tool's CPU (from a cgroup of its
#     own, to the nanosecond, as in tui-bench.sh; without a writable cgroup hierarchy
#     utime+stime+cutime+cstime of it and its descendants, /proc, in 10 ms ticks), the
#     bytes written and the daemons' CPU are read. "CPU % of a core" is over the whole window (start-up included: what
#     "open it for 30 s" costs); "after warm-up" is from WARMUP to D (what leaving it
#     open costs);
#   - first frame with every endpoint synced: from the release, the pane is read
#     (`capture-pane -p`, plain text) every ~20 ms until it shows
#       fleetdeck: its header's "N/N up · T containers" (an endpoint counts as up only
#                  once its first sync - list and inspect - is in the model, and T is
#                  every container of every daemon), and
#       dtop:      its title's "- T containers" (T = the fleet's running containers:
#                  dtop lists running ones by default, so every host's list is on
#                  screen; dtop shows no per-host "synced" state of its own);
#     the time of the capture that first shows it, minus the release. A capture costs
#     a few ms, and the polling's CPU (tmux, not the tool) is in host % only;
#   - daemon CPU: utime+stime of each fleet daemon's dockerd, its children (containerd,
#     docker-proxy) and its containerd-shim-runc-v2 processes (the shims of a
#     thousand containers), summed over the fleet; CPU after the window is not counted;
#   - key -> screen, after the window, the tool still open: first BENCH_KEYS/2 idle
#     probes (no key: does the screen change by itself within 1 s? stats refreshes and
#     relative times do, and such a change would be taken for a key's answer), then
#     BENCH_KEYS presses of BENCH_KEY (default Down: moves the selection in both tools)
#     at least 300 ms apart: the pane is captured with attributes (`capture-pane -p -e`:
#     the selection is a highlight), the key is sent (`send-keys`), then the pane is
#     captured back to back until it differs; the delay is the time from before
#     send-keys to the end of that capture (so it includes up to one capture: the
#     notes say how long a capture took on average). Median and p90 of the presses
#     answered within 1 s; the others count as timeouts. The selection moves within the
#     first screen of the ~1,000 rows;
#   - peak RSS: VmHWM of the tool at the end (window and key presses). RSS counts the
#     binary's clean code pages too; peak anonymous memory (RssAnon: heap, stacks), the
#     part a long session can grow, has no kernel peak, so it is sampled on every pass of
#     the window's loop (20-100 ms) and after every key press;
#   - host % = busy CPU of the whole machine in the window / one core (200 % = both
#     cores). Rows wait (BENCH_QUIET) for a quiet machine first, and a row marks a fleet
#     daemon restarted or bench containers lost during it.
#
# Knobs (environment):
#   BENCH_DAEMONS=40      daemons in the fleet (labFIRST..labFIRST+N-1; the last <= lab99)
#   BENCH_PER=25          sleeping containers per daemon
#   BENCH_FIRST=11        index of the first fleet daemon (above lab1..lab7)
#   BENCH_D=30            seconds per window
#   BENCH_WARMUP=10       seconds after start when the "after warm-up" rates begin
#   BENCH_RUNS=1          repetitions (even runs go in reverse order)
#   BENCH_TOOLS="baseline fd dtop"
#   BENCH_KEYS=20         key presses per tool (and BENCH_KEYS/2 idle probes)
#   BENCH_KEY=Down        the tmux key name sent
#   BENCH_SETTLE=5        seconds of quiet before each row
#   BENCH_QUIET=60, BENCH_QUIET_MAX=180   as in tui-bench.sh: wait (at most MAX s) until
#                         the machine's busy CPU over 3 s is below this % of one core
#   BENCH_SOAK_MIN=30, BENCH_SOAK_EVERY=60, BENCH_CHURN=20, BENCH_CHURN_EVERY=10
#                         the soak row's length, its sampling, and its churn
#   BENCH_KEEP=0          1: leave the fleet daemons up at the end (their bench
#                         containers are removed); fleet: leave the daemons and their
#                         containers, so the next run (another binary, BENCH_TOOLS="baseline
#                         fd") starts at once; else `lab.sh extra-down` deletes them with
#                         their containers (also on Ctrl-C, TERM or an error)
#   BENCH_TRACE=0         1: fleetdeck runs with FLEETDECK_LOG=fleetdeck::latency=debug, and
#                         each run's report splits its key presses in three legs from its log
#                         ("key read", "frame drawn"): send-keys -> key read (tmux delivering
#                         the key), key read -> frame drawn (fleetdeck), frame drawn -> seen in
#                         a capture (tmux taking the output, and the polling)
#   BENCH_OUT=DIR         results.tsv, report.md, byte captures, screens (default: a new
#                         /tmp/scale-bench.XXXXXX, kept)
#   BENCH_PEER_PATH=/work/peer-tools/bin   extra PATH entry for dtop
#   FLEETDECK=PATH        the binary (default target/dist/fleetdeck, else target/release)
#
# Usage (as root; the lab itself need not be up, the fleet daemons are started here):
#   cargo build --profile dist --locked && bench/scale.sh
#   BENCH_DAEMONS=3 BENCH_PER=5 BENCH_D=15 BENCH_WARMUP=5 bench/scale.sh    # a smoke run
#   BENCH_TOOLS=soak bench/scale.sh               # 30 min, 20 containers restarting every 10 s
#   cargo install dtop --version 0.10.2 --locked --root /work/peer-tools   # the peer
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

DAEMONS=${BENCH_DAEMONS:-40}
PER=${BENCH_PER:-25}
FIRST=${BENCH_FIRST:-11}
D=${BENCH_D:-30}
WARMUP=${BENCH_WARMUP:-10}
RUNS=${BENCH_RUNS:-1}
TOOLS=${BENCH_TOOLS:-baseline fd dtop}
KEYS=${BENCH_KEYS:-20}
KEY=${BENCH_KEY:-Down}
SETTLE=${BENCH_SETTLE:-5}
QUIET=${BENCH_QUIET:-60}
QUIET_MAX=${BENCH_QUIET_MAX:-180}
KEEP=${BENCH_KEEP:-0}
PEER_PATH=${BENCH_PEER_PATH:-/work/peer-tools/bin}
SOAK_MIN=${BENCH_SOAK_MIN:-30}
SOAK_EVERY=${BENCH_SOAK_EVERY:-60}
CHURN=${BENCH_CHURN:-20}
CHURN_EVERY=${BENCH_CHURN_EVERY:-10}
TRACE=${BENCH_TRACE:-0}
FLEETDECK=${FLEETDECK:-}
if [[ -z $FLEETDECK ]]; then
  FLEETDECK=$REPO/target/dist/fleetdeck
  [[ -x $FLEETDECK ]] || FLEETDECK=$REPO/target/release/fleetdeck
fi
COLS=200
ROWS=50
KEY_GAP=0.3          # s between a press's answer and the next press
KEY_TIMEOUT_US=1000000

log() { printf 'scale: %s\n' "$*" >&2; }
die() { printf 'scale: ERROR: %s\n' "$*" >&2; exit 1; }
url() { printf 'tcp://10.203.%s.2:2375' "$1"; }

for v in DAEMONS PER FIRST D RUNS KEYS SOAK_MIN SOAK_EVERY CHURN CHURN_EVERY; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, got '${!v}'"
done
if ! [[ $WARMUP =~ ^[0-9]+$ ]] || (( D <= WARMUP + 4 )); then die "need BENCH_WARMUP < BENCH_D - 4"; fi
[[ $EUID -eq 0 ]] || die "must run as root (the lab's daemons, other users' /proc)"
for t in docker tmux awk ps stat; do command -v "$t" >/dev/null || die "needs $t"; done
[[ -x $FLEETDECK ]] || die "no fleetdeck binary at $FLEETDECK (cargo build --profile dist --locked, or FLEETDECK=...)"
[[ -d $PEER_PATH ]] && PATH="$PATH:$PEER_PATH"
mapfile -t LABS < <(seq "$FIRST" $(( FIRST + DAEMONS - 1 )))

OUT=${BENCH_OUT:-$(mktemp -d /tmp/scale-bench.XXXXXX)}
mkdir -p "$OUT"
HOMEDIR=$OUT/home
mkdir -p "$HOMEDIR/.config" "$HOMEDIR/state" "$HOMEDIR/cwd"
TSOCK=scale-bench-$$

# ----------------------------------------------------------------- cleanup --

STARTED=0   # 1 once `lab.sh extra` ran: from then on the fleet is ours to clean up
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  T kill-server 2>/dev/null || true     # our own server only (-L), with its tools
  cg_remove_all
  if (( STARTED )); then
    if [[ $KEEP == fleet ]]; then
      log "BENCH_KEEP=fleet: leaving lab${LABS[0]}..lab${LABS[-1]} up with their bench containers"
    elif [[ $KEEP == 1 ]]; then
      log "BENCH_KEEP=1: removing the bench containers, leaving lab${LABS[0]}..lab${LABS[-1]} up"
      local i jobs=()
      for i in "${LABS[@]}"; do
        [[ -S $(sock "$i") ]] || continue
        ensure_bench "$i" 0 2>/dev/null & jobs+=("$!")
        if (( ${#jobs[@]} >= 5 )); then wait "${jobs[0]}" || true; jobs=("${jobs[@]:1}"); fi
      done
      for i in "${jobs[@]}"; do wait "$i" || true; done
    else
      log "stopping lab${LABS[0]}..lab${LABS[-1]} with their containers (lab.sh extra-down)"
      "$REPO/scripts/lab.sh" extra-down "$FIRST" "$DAEMONS" || log "extra-down failed (rc $?)"
    fi
  fi
  log "results, byte captures and screens kept in $OUT"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ fleet --

fleet_up() {
  local t0=$SECONDS i jobs=()
  STARTED=1
  log "starting lab${LABS[0]}..lab${LABS[-1]} (scripts/lab.sh extra $FIRST $DAEMONS)"
  LAB_READY_TIMEOUT=${LAB_READY_TIMEOUT:-180} "$REPO/scripts/lab.sh" extra "$FIRST" "$DAEMONS"
  # Five daemons at a time, four `docker run`s each.
  for i in "${LABS[@]}"; do
    ensure_bench "$i" "$PER" & jobs+=("$!")
    if (( ${#jobs[@]} >= 5 )); then wait "${jobs[0]}" || die "containers on a fleet daemon failed"; jobs=("${jobs[@]:1}"); fi
  done
  for i in "${jobs[@]}"; do wait "$i" || die "containers on a fleet daemon failed"; done
  log "fleet ready: $DAEMONS daemons x $PER containers after $(( SECONDS - t0 )) s; memory: $(free -m | awk '/^Mem:/ { printf "%d MiB used, %d MiB available", $3, $7 }')"
}

# Containers of the fleet: every one (fleetdeck lists all) and the running ones (dtop's
# default list).
count_fleet() {   # ps flags
  local i n=0
  for i in "${LABS[@]}"; do n=$(( n + $(dk "$i" ps -q "$@" | wc -l) )); done
  echo "$n"
}

# -------------------------------------------------------------- measuring --

# tool_cmd TOOL -> CMDLINE, SIGNAL (text the screen shows once every endpoint is
# synced), NOTE; 1 if the tool is not installed.
tool_cmd() {
  case $1 in
    fd)
      local cfg=$OUT/fleetdeck.toml
      fd_config "$cfg" "" "${LABS[@]}"
      local trace=""
      [[ $TRACE == 1 ]] && trace="FLEETDECK_LOG=fleetdeck::latency=debug "
      CMDLINE="$(tool_env) $trace$(q "$FLEETDECK") --config $(q "$cfg") --view containers"
      SIGNAL="$DAEMONS/$DAEMONS up · $TOTAL_ALL containers"
      NOTE="containers view, defaults" ;;
    dtop)
      CMDLINE=$(dtop_cmdline "${LABS[@]}") || return 1
      SIGNAL="- $TOTAL_RUN containers"
      NOTE="defaults" ;;
    *) die "unknown tool '$1' (baseline, fd, dtop)" ;;
  esac
}

# key_probe NAME SEND — capture the pane (with attributes), send KEY if SEND is 1, then
# capture back to back until the pane differs: prints the delay in µs (or "timeout"
# after 1 s) and the number of captures it took; a press's send and seen times (µs since
# the epoch) go to OUT/NAME.keys.
key_probe() {
  local name=$1 send=$2 ref cur ts te n=0
  ref=$(T capture-pane -p -e -t "$name")
  ts=$(now_us)
  if [[ $send == 1 ]]; then T send-keys -t "$name" "$KEY"; fi
  while :; do
    cur=$(T capture-pane -p -e -t "$name")
    te=$(now_us); n=$(( n + 1 ))
    if [[ $cur != "$ref" ]]; then
      [[ $send == 1 ]] && echo "$ts $te" >>"$OUT/$name.keys"
      echo "$(( te - ts )) $n"; return
    fi
    if (( te - ts >= KEY_TIMEOUT_US )); then echo "timeout $n"; return; fi
  done
}

# measure RUN TOOL — one row of results.tsv.
measure() {
  local run=$1 tool=$2 name="$1-$2" i
  local pidf=$OUT/pids.fleet
  for i in "${LABS[@]}"; do daemon_pids "$i"; done >"$pidf"
  sleep "$SETTLE"
  wait_quiet
  local t0 t0us tw t1 h0 h1 d0 dw d1 cpu=0 cpuw=0 ns="" nsw="" rss=0 bytes=0 bytesw=0 pid note tty
  local sync="" keys="" idle=0 dead=0 anon=0 a
  if [[ $tool == baseline ]]; then
    note="nothing running"
    baseline_window "$pidf"
  else
    tool_cmd "$tool" || { log "$tool: not installed, skipped"; return; }
    note="$NOTE; synced = screen shows '$SIGNAL'"
    tty=$OUT/$name.tty
    tool_open "$name" "$CMDLINE" "$tty"; pid=$TOOL_PID
    cg_join "$name" "$pid"
    t0=$EPOCHREALTIME; t0us=${t0/./}; h0=$(host_busy); d0=$(daemon_snapshot "$pidf")
    tool_go "$name"
    # The window: the pane read every ~20 ms until the synced signal shows, the warm-up
    # readings at WARMUP s, the end at D s.
    local el cap warm=0
    while :; do
      el=$(( $(now_us) - t0us ))
      if (( !warm && el >= WARMUP * 1000000 )); then
        tw=$EPOCHREALTIME; dw=$(daemon_snapshot "$pidf")
        cpuw=$(ticks_tree "$pid"); nsw=$(cg_ns); bytesw=$(stat -c %s "$tty"); warm=1
      fi
      (( el < D * 1000000 )) || break
      a=$(anon_kb "$pid"); (( a > anon )) && anon=$a
      if [[ -z $sync ]]; then
        cap=$(T capture-pane -p -t "$name")
        if [[ $cap == *"$SIGNAL"* ]]; then
          sync=$(awk -v us="$el" 'BEGIN { printf "%.2f", us / 1e6 }')
          printf '%s\n' "$cap" >"$OUT/$name.synced.screen"
          log "$tool: all $DAEMONS endpoints synced on screen after $sync s"
        fi
        sleep 0.02
      else
        sleep 0.1
      fi
    done
    d1=$(daemon_snapshot "$pidf"); h1=$(host_busy); t1=$EPOCHREALTIME
    cpu=$(ticks_tree "$pid"); ns=$(cg_ns); bytes=$(stat -c %s "$tty")
    [[ -n $sync ]] || { sync="-"; note+="; NOT SYNCED WITHIN ${D} s"; }
    # Key -> screen, the tool still open: idle probes first, then the presses.
    local k r n polls=0 polled=0
    for (( k = 0; k < KEYS / 2; k++ )); do
      read -r r n < <(key_probe "$name" 0); [[ $r == timeout ]] || idle=$(( idle + 1 ))
    done
    for (( k = 0; k < KEYS; k++ )); do
      read -r r n < <(key_probe "$name" 1); keys+="${keys:+ }$r"
      a=$(anon_kb "$pid"); (( a > anon )) && anon=$a
      if [[ $r != timeout ]]; then polls=$(( polls + n )); polled=$(( polled + r )); fi
      sleep "$KEY_GAP"
    done
    (( polls )) && note+="; key polls every $(( polled / polls / 1000 )) ms"
    log "$tool: key -> screen (µs): $keys; idle changes: $idle of $(( KEYS / 2 ))"
    rss=$(peak_rss_kb "$pid")
    tool_close "$name" "$pid" "$OUT/$name.screen"; dead=$TOOL_DEAD
    cg_remove
    [[ $dead == 1 ]] && note+="; EXITED EARLY (see $name.screen)"
  fi
  # The fleet is ours, but `scripts/lab.sh up`/`down` (a test run) would take it along.
  local bad=0 dp
  for i in "${LABS[@]}"; do
    dp=$(cat "$LAB_RUN/lab$i/dockerd.pid" 2>/dev/null || true)
    if [[ -z $dp ]] || ! grep -qx "$dp" "$pidf"; then bad=$(( bad + 1 )); fi
  done
  (( bad == 0 )) || note+="; $bad FLEET DAEMONS RESTARTED OR GONE DURING THE ROW"
  local running; running=$(count_fleet --filter "label=$LABEL" --filter status=running 2>/dev/null || echo 0)
  (( running == DAEMONS * PER )) || note+="; BENCH CONTAINERS MISSING ($running running)"
  awk -v run="$run" -v tool="$tool" -v t0="$t0" -v tw="$tw" -v t1="$t1" -v cpu="$cpu" -v cpuw="$cpuw" -v ns="$ns" -v nsw="$nsw" \
      -v rss="${rss:-0}" -v bytes="$bytes" -v bytesw="$bytesw" -v d0="$d0" -v dw="$dw" -v d1="$d1" \
      -v h0="$h0" -v h1="$h1" -v tck="$TCK" -v sync="${sync:--}" -v keys="$keys" -v idle="$idle" \
      -v nidle=$(( KEYS / 2 )) -v note="$note" -v anon="$anon" -v isbase="$([[ $tool == baseline ]] && echo 1 || echo 0)" \
      -v date="$(date -u +%FT%TZ)" '
    function pct(p,   i) { i = int(p * m + 0.999999); if (i < 1) i = 1; return v[i] }
    BEGIN {
      w = t1 - t0; ws = t1 - tw
      # CPU seconds: from the tool cgroup (to the ns) where there is one, else from ticks.
      if (ns != "" && nsw != "") { cs = ns / 1e9; csw = nsw / 1e9 } else { cs = cpu / tck; csw = cpuw / tck }
      dt = (d1 - d0) / tck; dst = (d1 - dw) / tck / ws * 60
      if (isbase) { c = cp = cps = r = an = by = kbm = med = p90 = to = idl = "-" }
      else {
        c = sprintf("%.2f", cs); cp = sprintf("%.1f", cs / w * 100)
        cps = sprintf("%.1f", (cs - csw) / ws * 100); r = sprintf("%.1f", rss / 1024)
        an = sprintf("%.1f", anon / 1024)
        by = bytes; kbm = sprintf("%.1f", (bytes - bytesw) / 1024 / ws * 60)
        n = split(keys, a, " "); m = 0; to = 0
        for (k = 1; k <= n; k++) { if (a[k] == "timeout") to++; else v[++m] = a[k] / 1000 }
        for (i = 2; i <= m; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
        if (m) { med = sprintf("%.0f", (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2); p90 = sprintf("%.0f", pct(0.9)) }
        else { med = p90 = "-" }
        idl = idle "/" nidle
      }
      printf "%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", date, run, tool, w, c, cp, cps, r, by, kbm,
        dt, dst, (h1 - h0) / tck / w * 100, sync, med, p90, to, idl, note, an
    }' >>"$RESULTS"
}

# ------------------------------------------------------------------- soak --

# The soak's churn: CHURN bench containers, taken round-robin over the daemons, each
# restarted every CHURN_EVERY s through the API (curl on the daemon's socket: no CLI
# start-up per restart); a round waits for its restarts (at most CHURN_EVERY s more).
# Counts rounds and failed restarts into OUT/churn.count.
churn_loop() {
  local targets=() i k=0 n=${#LABS[@]} ids round=0 failed=0 t0 jobs
  declare -A pick=()
  while (( ${#targets[@]} < CHURN )); do
    i=${LABS[$(( k % n ))]}
    pick[$i]=$(( ${pick[$i]:-0} + 1 ))
    ids=$(dk "$i" ps -q --filter "label=$LABEL" | sed -n "${pick[$i]}p")
    [[ -n $ids ]] || die "soak: lab$i has fewer than ${pick[$i]} bench containers"
    targets+=("$i:$ids"); k=$(( k + 1 ))
  done
  while :; do
    t0=$SECONDS; jobs=()
    for k in "${targets[@]}"; do
      curl -sf --max-time $(( CHURN_EVERY * 2 )) --unix-socket "$(sock "${k%%:*}")" \
        -X POST "http://docker/containers/${k#*:}/restart?t=1" -o /dev/null & jobs+=("$!")
    done
    for k in "${jobs[@]}"; do wait "$k" || failed=$(( failed + 1 )); done
    round=$(( round + 1 ))
    echo "$round $failed" >"$OUT/churn.count"
    (( SECONDS - t0 >= CHURN_EVERY )) || sleep $(( CHURN_EVERY - (SECONDS - t0) ))
  done
}

# soak_row RUN — fleetdeck alone with the churn, sampled every SOAK_EVERY s.
soak_row() {
  local run=$1 name="$1-soak" pid tty=$OUT/$1-soak.tty cpid t0 el next=$SOAK_EVERY tsv=$OUT/soak.tsv
  tool_cmd fd
  sleep "$SETTLE"; wait_quiet
  tool_open "$name" "$CMDLINE" "$tty"; pid=$TOOL_PID
  printf 'min\trss_mb\tanon_mb\tpeak_rss_mb\tthreads\tfds\tcpu_s\tchurn_rounds\tfailed_restarts\n' >"$tsv"
  churn_loop & cpid=$!
  t0=$SECONDS
  tool_go "$name"
  while :; do
    el=$(( SECONDS - t0 ))
    if (( el >= next )); then
      [[ -e /proc/$pid ]] || { kill "$cpid" 2>/dev/null; die "soak: fleetdeck exited after $el s (screen: $OUT/$name.screen)"; }
      awk -v min="$(awk -v s="$el" 'BEGIN { printf "%.1f", s / 60 }')" -v fds="$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)" \
          -v cpu="$(ticks_tree "$pid")" -v tck="$TCK" -v churn="$(cat "$OUT/churn.count" 2>/dev/null || echo '0 0')" '
        /^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 } /^VmHWM:/ { hwm = $2 } /^Threads:/ { th = $2 }
        END { split(churn, c, " "); printf "%s\t%.1f\t%.1f\t%.1f\t%s\t%s\t%.1f\t%s\t%s\n", min, rss / 1024, anon / 1024, hwm / 1024, th, fds, cpu / tck, c[1], c[2] }' \
        "/proc/$pid/status" | tee -a "$tsv" >&2
      next=$(( next + SOAK_EVERY ))
      (( el < SOAK_MIN * 60 )) || break
    fi
    sleep 1
  done
  kill "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true
  tool_close "$name" "$pid" "$OUT/$name.screen"
  {
    echo
    printf '#### Soak, run %s — %s, fleetdeck alone %s min, %s daemons x %s containers, %s restarted every %s s\n\n' \
      "$run" "$(date -u '+%F %H:%M UTC')" "$SOAK_MIN" "$DAEMONS" "$PER" "$CHURN" "$CHURN_EVERY"
    awk -F'\t' -v last="$SOAK_MIN" '
      NR == 1 { next }
      { m[++n] = $1; line[n] = $0; anon[n] = $3; rss[n] = $2 }
      END {
        print "| minute | RSS MB | anonymous MB | peak RSS MB | threads | fds | CPU s | churn rounds | failed restarts |"
        print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        for (i = 1; i <= n; i++) { if ((i - 1) % 5 == 0 || i == n) { gsub("\t", " | ", line[i]); print "| " line[i] " |" } }
        for (i = 1; i <= n && m[i] < last - 20; i++); if (i > n) i = 1
        printf "\nLast %.0f minutes: RSS %+.1f MB, anonymous %+.1f MB (minute %s to %s).\n", m[n] - m[i], rss[n] - rss[i], anon[n] - anon[i], m[i], m[n]
      }' "$tsv"
  } | tee -a "$OUT/report.md"
}

# ------------------------------------------------------------------ report --

# One table per run, "net" = the row's daemon CPU minus the same run's baseline; then the
# issue's targets, checked for fleetdeck against dtop in that run.
report() {   # RUN
  local run=$1
  # A run of the soak alone has no rows here (soak_row reports itself).
  awk -F'\t' -v run="$run" 'NR > 1 && $2 == run { f = 1 } END { exit !f }' "$RESULTS" || return 0
  echo
  printf '#### Run %s — %s, %s daemons x %s containers (%s running), %s s windows (rates after a %s s warm-up), tmux %sx%s\n\n' \
    "$run" "$(date -u '+%F %H:%M UTC')" "$DAEMONS" "$PER" "$TOTAL_RUN" "$D" "$WARMUP" "$COLS" "$ROWS"
  awk -F'\t' -v run="$run" -v keys="$KEYS" '
    $2 == run { row[++n] = $0; if ($3 == "baseline") { base = $11; bst = $12 } else { T[$3] = $0 } }
    END {
      print "| tool | CPU s | CPU % of a core | after warm-up % | peak RSS MB | peak anonymous MB | KB written | KB/min after warm-up | daemon CPU s (net) | daemon net s/min after warm-up | first frame all synced s | key → screen median / p90 ms | key timeouts | idle changes | host % | notes |"
      print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
      for (r = 1; r <= n; r++) {
        split(row[r], f, "\t")
        if (f[3] == "baseline") { printf "| baseline | - | - | - | - | - | - | - | %.2f | (%.2f) | - | - | - | - | %s | %s |\n", f[11], f[12], f[13], f[19]; continue }
        net = (base != "") ? sprintf("%+.2f", f[11] - base) : "?"
        nst = (bst != "") ? sprintf("%+.2f", f[12] - bst) : "?"
        printf "| %s | %s | %s | %s | %s | %s | %.0f | %s | %.2f (%s) | %s | %s | %s / %s | %s of %s | %s | %s | %s |\n", f[3], f[5], f[6], f[7], f[8], (f[20] == "" ? "-" : f[20]), f[9] / 1024, f[10], f[11], net, nst, f[14], f[15], f[16], f[17], keys, f[18], f[13], f[19]
      }
      if (!("fd" in T)) exit
      split(T["fd"], a, "\t")
      print ""
      printf "Targets (issue 22), fleetdeck in this run:\n"
      printf "- CPU <= 3 %% of one core: %s %% over the window, %s %% after warm-up (%s)\n", a[6], a[7], (a[6] + 0 <= 3) ? "met" : "NOT met"
      printf "- peak RSS <= 40 MB: %s MB (%s); peak anonymous memory (heap, stacks) %s MB\n", a[8], (a[8] + 0 <= 40) ? "met" : "NOT met", a[20]
      printf "- first frame with all endpoints synced <= 1.5 s: %s s (%s)\n", a[14], (a[14] != "-" && a[14] + 0 <= 1.5) ? "met" : "NOT met"
      printf "- key -> screen <= 50 ms (median): %s ms (%s)\n", a[15], (a[15] != "-" && a[15] + 0 <= 50) ? "met" : "NOT met"
      if (!("dtop" in T)) { print "- against dtop: no dtop row"; exit }
      split(T["dtop"], b, "\t")
      fc = a[5]; dc = b[5]; fn = a[11] - base; dn = b[11] - base
      printf "- CPU <= 1/5 of dtop: %s s vs %s s = %.2f of dtop (%s)\n", fc, dc, (dc > 0 ? fc / dc : 0), (dc > 0 && fc / dc <= 0.2) ? "met" : "NOT met"
      printf "- daemon-side CPU <= 1/5 of dtop (net of baseline): %.2f s vs %.2f s = %.2f of dtop (%s)\n", fn, dn, (dn > 0 ? fn / dn : 0), (dn > 0 && fn / dn <= 0.2) ? "met" : "NOT met"
    }' "$RESULTS"
  if [[ $TRACE == 1 && -s $OUT/$run-fd.keys ]]; then echo; key_split "$OUT/$run-fd.keys"; fi
}

# key_split KEYS — with BENCH_TRACE=1: fleetdeck's answered key presses (KEYS: send and seen
# times in µs) in three legs from its log, the first "key read" at or after the send and
# the first "frame drawn" at or after that: median, p90 and max of each leg in ms.
key_split() {
  local logs
  logs=$(fd_logs)
  [[ -n $logs ]] || { echo "(no fleetdeck log under $HOMEDIR/state)"; return; }
  # shellcheck disable=SC2086
  cat $logs | awk -v keys="$1" "$AWK_LEGS"'
    /fleetdeck::latency: key read/ { K[++nk] = us($1) }
    /fleetdeck::latency: frame drawn/ { F[++nf] = us($1) }
    END {
      while ((getline row < keys) > 0) {
        split(row, f, " "); day = f[1] - f[1] % 86400000000; ts = f[1] - day; te = f[2] - day
        read = frame = 0
        for (i = 1; i <= nk; i++) if (K[i] >= ts - 1000) { read = K[i]; break }
        if (read) for (i = 1; i <= nf; i++) if (F[i] >= read) { frame = F[i]; break }
        if (!frame || frame > te) { missing++; continue }
        n++; a[n] = (read - ts) / 1000; b[n] = (frame - read) / 1000; c[n] = (te - frame) / 1000
      }
      if (missing) printf "(%d key presses without their log lines)\n", missing
      if (!n) exit
      sorted(a, n); sorted(b, n); sorted(c, n)
      print "| fleetdeck key press, leg (from its log) | median ms | p90 ms | max ms |"
      print "|---|---:|---:|---:|"
      printf "| send-keys -> key read (tmux delivers it) | %.1f | %.1f | %.1f |\n", median(a, n), p90(a, n), a[n]
      printf "| key read -> frame drawn (fleetdeck) | %.1f | %.1f | %.1f |\n", median(b, n), p90(b, n), b[n]
      printf "| frame drawn -> seen in a capture (tmux, polling) | %.1f | %.1f | %.1f |\n", median(c, n), p90(c, n), c[n]
    }'
}

# -------------------------------------------------------------------- main --

RESULTS=$OUT/results.tsv
[[ -e $RESULTS ]] || printf 'date\trun\ttool\twin_s\tcpu_s\tcpu_pct\tcpu_pct_after_warmup\trss_mb\tbytes\tkb_per_min_after_warmup\tdaemon_s\tdaemon_s_per_min_after_warmup\thost_pct\tsynced_s\tkey_median_ms\tkey_p90_ms\tkey_timeouts\tidle_changes\tnote\tanon_peak_mb\n' >"$RESULTS"

log "output in $OUT; fleetdeck $FLEETDECK"
fleet_up
TOTAL_ALL=$(count_fleet -a)
TOTAL_RUN=$(count_fleet)
{
  echo "# $(date -u +%FT%TZ) host $(uname -r), $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB, docker engine $(dk "${LABS[0]}" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), $(tmux -V)"
  echo "# fleet: lab${LABS[0]}..lab${LABS[-1]} over TCP, $TOTAL_RUN running containers ($TOTAL_ALL in all)"
  echo "# fleetdeck: $("$FLEETDECK" --version 2>/dev/null || echo '?') ($FLEETDECK, built $(date -u -r "$FLEETDECK" '+%F %H:%M UTC'))"
  if command -v dtop >/dev/null; then echo "# dtop: $(dtop --version 2>/dev/null | head -1) ($(command -v dtop))"; else echo "# dtop: not installed, skipped"; fi
} | tee "$OUT/header.txt"
log "settling 10 s after the containers' start-up"
sleep 10

row() {   # RUN TOOL
  if [[ $2 == soak ]]; then
    log "run $1: soak (fleetdeck alone ${SOAK_MIN} min, $CHURN containers restarted every ${CHURN_EVERY} s)"
    soak_row "$1"; return
  fi
  log "run $1: $2 (${D} s window$([[ $2 == baseline ]] || echo ", then $KEYS key presses"))"
  measure "$1" "$2"
}
each_run row report
echo
echo "# net: the row's daemon CPU minus the same run's baseline row (same daemons, same window length)."
echo "# idle changes: idle probes in which the screen changed within 1 s with no key pressed (such a"
echo "# change may be taken for a key's answer). raw data: $RESULTS"
