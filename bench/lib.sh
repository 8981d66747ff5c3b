# bench/lib.sh — what the terminal benchmarks share (sourced by tui-bench.sh, scale.sh and
# event-screen.sh).
#
# The caller sets, before sourcing or before the first call:
#   OUT        the output directory (docker-run.log goes there)
#   TSOCK      the name of its private tmux server (-L), so no other session is touched
#   QUIET, QUIET_MAX   wait_quiet's threshold (% of one core) and its limit (s)
#   HOMEDIR    the empty HOME every tool gets (defaults only, no user config), with
#              an empty HOMEDIR/cwd the tools start in
#   COLS, ROWS the tools' terminal size
# and defines log, die and url LAB (the URL a tool is given for lab LAB).
# shellcheck shell=bash
# shellcheck disable=SC2034  # TOOL_PID, TOOL_DEAD, IMAGE...: set here for the callers

# The environment every bench runs in, set when this file is sourced.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
# C locale: $EPOCHREALTIME and awk/printf must use a decimal point.
export LC_ALL=C
# Talk to exactly the daemons we name, whatever the caller's environment says.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_TLS DOCKER_API_VERSION

LAB_RUN=/run/fleetdeck-lab
IMAGE=busybox:local
LABEL=fleetdeck.bench=1
CMD='trap "exit 0" TERM; sleep 100000 & wait'
TCK=$(getconf CLK_TCK)

sock() { printf '%s/lab%s/docker.sock' "$LAB_RUN" "$1"; }
dk() { local i=$1; shift; docker -H "unix://$(sock "$i")" "$@"; }
q() { printf '%q' "$1"; }
T() { tmux -L "$TSOCK" -f /dev/null "$@"; }
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }   # wall clock in integer microseconds

# sleep_until T0 OFFSET — sleep until OFFSET seconds after the time T0.
sleep_until() {
  sleep "$(awk -v t0="$1" -v off="$2" -v now="$EPOCHREALTIME" 'BEGIN { r = t0 + off - now; printf "%.3f", (r > 0 ? r : 0) }')"
}

# ------------------------------------------------------------------- /proc --

# Fields after the last ") " of /proc/PID/stat start at field 3 (state): utime,
# stime, cutime, cstime (fields 14-17) are positional parameters 12-15. The comm
# field may contain spaces, hence the cut.
stat_fields() {
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  s=${s##*) }
  printf '%s' "$s"
}
ticks_tree() {   # utime+stime+cutime+cstime of PID and every live descendant
  local s t=0 p
  for p in "$1" $(descendants "$1"); do
    s=$(stat_fields "$p") || continue
    # shellcheck disable=SC2086
    set -- $s; t=$(( t + ${12} + ${13} + ${14} + ${15} ))
  done
  echo "$t"
}
# CPU to the nanosecond, every thread counted (exited ones too): each tool runs in a
# cgroup of its own (cgroup v1 cpuacct, or v2's cpu.stat), joined by the pane's shell
# before it execs the tool. The ticks of /proc/PID/stat are 10 ms: a quiet dashboard's
# 20 s after warm-up is a handful of them. Without a writable cgroup hierarchy, TOOL_CG
# stays empty and the ticks are used.
CG_ROOT=""; CG_KIND=""
if [[ -w /sys/fs/cgroup/cpuacct/cgroup.procs ]]; then
  CG_ROOT=/sys/fs/cgroup/cpuacct; CG_KIND=v1
elif [[ -f /sys/fs/cgroup/cgroup.controllers && -w /sys/fs/cgroup/cgroup.procs ]]; then
  CG_ROOT=/sys/fs/cgroup; CG_KIND=v2
fi
cg_join() {   # NAME PID — moves PID into a fresh cgroup; sets TOOL_CG ("" if none)
  TOOL_CG=""
  [[ -n $CG_ROOT ]] || return 0
  local d="$CG_ROOT/fleetdeck-bench-$$-$1"
  if mkdir -p "$d" 2>/dev/null && echo "$2" >"$d/cgroup.procs" 2>/dev/null; then TOOL_CG=$d; fi
}
cg_ns() {     # CPU ns used in TOOL_CG so far; empty without one
  [[ -n $TOOL_CG ]] || return 0
  case $CG_KIND in
    v1) cat "$TOOL_CG/cpuacct.usage" ;;
    v2) awk '/^usage_usec/ { printf "%.0f\n", $2 * 1000 }' "$TOOL_CG/cpu.stat" ;;
  esac
}
cg_remove() { [[ -z ${TOOL_CG:-} ]] || rmdir "$TOOL_CG" 2>/dev/null || true; }
cg_remove_all() { [[ -z $CG_ROOT ]] || rmdir "$CG_ROOT"/fleetdeck-bench-$$-* 2>/dev/null || true; }
descendants() { local c; for c in $(ps --ppid "$1" -o pid= 2>/dev/null); do echo "$c"; descendants "$c"; done; }
host_busy() { awk '/^cpu /{ print $2+$3+$4+$7+$8+$9 }' /proc/stat; }
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# The process's anonymous memory now (RssAnon, kB; 0 once it is gone), read without a fork so
# it can be sampled every few ms: the kernel keeps no peak of it, as VmHWM is kept for RSS.
anon_kb() {
  local k v _
  while read -r k v _; do [[ $k == RssAnon: ]] && { echo "$v"; return; }; done <"/proc/$1/status" 2>/dev/null
  echo 0
}

# Wait (at most QUIET_MAX s) until the machine is quiet: a row measured next to a
# compile or a test run says more about them than about the tool.
wait_quiet() {
  local start=$SECONDS h0 h1 pct
  while :; do
    h0=$(host_busy); sleep 3; h1=$(host_busy)
    pct=$(( (h1 - h0) * 100 / TCK / 3 ))
    (( pct < QUIET )) && return
    if (( SECONDS - start >= QUIET_MAX )); then log "machine still busy (${pct}% of a core) after ${QUIET_MAX} s; measuring anyway"; return; fi
  done
}

# What the splits of fleetdeck's latency log share (BENCH_TRACE in event-screen.sh and
# scale.sh): its log files under the tools' HOME, and awk functions: a log line's time of day
# in µs (tracing's "2026-12-04T00:45:36.579618Z"), an array's sort, median and p90.
fd_logs() { find "$HOMEDIR/state" -name 'fleetdeck.log*' -type f 2>/dev/null | sort; }
AWK_LEGS='
    function us(ts,   hms) { split(substr(ts, 12, 15), hms, ":"); return ((hms[1] * 60 + hms[2]) * 60 + hms[3]) * 1e6 }
    function sorted(arr, n,   i, j, x) { for (i = 2; i <= n; i++) { x = arr[i]; for (j = i - 1; j >= 1 && arr[j] > x; j--) arr[j + 1] = arr[j]; arr[j + 1] = x } }
    function median(arr, n) { return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
    function p90(arr, n,   i) { i = int(0.9 * n + 0.999999); if (i < 1) i = 1; return arr[i] }
'

# Non-healthcheck Docker events on the given labs between two unix times: work that
# someone else (a test) did on the lab during the window.
lab_events() {   # T0 T1 LAB...
  local t0=$1 t1=$2 i n=0; shift 2
  for i in "$@"; do
    n=$(( n + $(dk "$i" events --since "$t0" --until "$t1" --format '{{.Action}}' 2>/dev/null | grep -cv '^exec_' || true) ))
  done
  echo "$n"
}

# The daemon-side processes of lab I: dockerd, its children (containerd,
# docker-proxy) and the lab's shims (children of PID 1, known by their -address).
# Taken at the start of each window: the container set does not change within one.
daemon_pids() {
  local i=$1 dpid
  dpid=$(<"$LAB_RUN/lab$i/dockerd.pid")
  [[ -r /proc/$dpid/stat ]] || die "lab$i dockerd (pid $dpid) is not running"
  echo "$dpid"
  ps --ppid "$dpid" -o pid=
  ps -eo pid=,args= | awk -v addr="/run/fdl/$i/containerd/containerd.sock" '
    $2 ~ /containerd-shim-runc-v2$/ { for (k = 3; k < NF; k++) if ($k == "-address" && $(k+1) == addr) { print $1; break } }'
}
# "t_1 t_2 ..." in ticks (utime+stime, 0 for a pid that is gone) for the given pid
# files (one pid a line). One awk for every pid: a thousand shims are read in a few
# ms, without a fork per pid.
daemon_snapshot() {
  awk 'BEGIN {
    for (k = 1; k < ARGC; k++) {
      t = 0
      while ((getline p < ARGV[k]) > 0) {
        gsub(/[ \t]/, "", p); if (p == "") continue
        f = "/proc/" p "/stat"
        if ((getline s < f) > 0) { sub(/.*\) /, "", s); split(s, a, " "); t += a[12] + a[13] }
        close(f)
      }
      close(ARGV[k]); printf "%s%d", (k > 1 ? " " : ""), t
    }
    print ""
  }' "$@"
}

# A window of D s in which no tool runs (the "baseline" row), with the WARMUP readings:
# sets the caller's t0 tw t1 (times), h0 h1 (host_busy), d0 dw d1 (daemon_snapshot of
# the given pid files) through bash's dynamic scope.
baseline_window() {   # PIDFILE...
  t0=$EPOCHREALTIME; h0=$(host_busy); d0=$(daemon_snapshot "$@")
  sleep_until "$t0" "$WARMUP"
  tw=$EPOCHREALTIME; dw=$(daemon_snapshot "$@")
  sleep_until "$t0" "$D"
  d1=$(daemon_snapshot "$@"); h1=$(host_busy); t1=$EPOCHREALTIME
}

# each_run ROW REPORT — RUNS runs of the rows in TOOLS: `ROW RUN TOOL` for each (in
# TOOLS' order, reversed in even runs, so a drift in background load does not always hit
# the same tool), then `REPORT RUN`, also appended to OUT/report.md.
each_run() {
  local row=$1 report=$2 run tool list=()
  read -r -a list <<<"$TOOLS"
  for (( run = 1; run <= RUNS; run++ )); do
    if (( run % 2 == 0 )); then mapfile -t list < <(printf '%s\n' "${list[@]}" | tac); fi
    for tool in "${list[@]}"; do "$row" "$run" "$tool"; done
    "$report" "$run" | tee -a "$OUT/report.md"
  done
}

# -------------------------------------------------------------- containers --

# Make lab I hold exactly WANT running bench containers (0 removes them).
ensure_bench() {
  local i=$1 want=$2 have ids
  ids=$(dk "$i" ps -aq --filter "label=$LABEL")
  have=$(dk "$i" ps -q --filter "label=$LABEL" --filter status=running | wc -l)
  if (( want == 0 )); then
    [[ -z $ids ]] || { log "lab$i: removing $(wc -w <<<"$ids") bench containers"; xargs -r -n 10 -P 4 docker -H "unix://$(sock "$i")" rm -f <<<"$ids" >/dev/null; }
    return
  fi
  if (( have != $(wc -w <<<"$ids") )); then   # some exited: start clean
    xargs -r -n 10 -P 4 docker -H "unix://$(sock "$i")" rm -f <<<"$ids" >/dev/null; have=0
  fi
  if (( have < want )); then
    log "lab$i: starting $(( want - have )) idle containers ($IMAGE, label $LABEL)"
    # A few at a time: 50 sequential `docker run`s take about half a minute.
    seq $(( want - have )) | xargs -P 4 -I{} docker -H "unix://$(sock "$i")" run -d --label "$LABEL" "$IMAGE" sh -c "$CMD" >/dev/null 2>>"$OUT/docker-run.log"
  fi
  have=$(dk "$i" ps -q --filter "label=$LABEL" --filter status=running | wc -l)
  (( have == want )) || die "lab$i: expected $want running bench containers, got $have"
}

# ------------------------------------------------------------------- tools --

# fleetdeck config with the given labs as endpoints (url LAB), one cluster; a
# [stats] interval only if INTERVAL is not empty (else fleetdeck's default).
fd_config() {   # FILE INTERVAL LAB...
  local f=$1 iv=$2 i; shift 2
  : >"$f"
  for i in "$@"; do
    printf '[[endpoint]]\nname = "lab%s"\nurl = "%s"\ncluster = "bench"\n\n' "$i" "$(url "$i")" >>"$f"
  done
  if [[ -n $iv ]]; then printf '[stats]\ninterval_s = %s\n' "$iv" >>"$f"; fi
}

# The env prefix every tool runs under: the same empty HOME/XDG dirs for all.
tool_env() {
  printf 'env HOME=%s XDG_CONFIG_HOME=%s XDG_STATE_HOME=%s' "$(q "$HOMEDIR")" "$(q "$HOMEDIR/.config")" "$(q "$HOMEDIR/state")"
}
# dtop on the given labs (repeated --host, unix:// and tcp:// alike); 1 if not installed.
dtop_cmdline() {   # LAB...
  local i hosts=""
  command -v dtop >/dev/null || return 1
  for i in "$@"; do hosts+=" --host $(q "$(url "$i")")"; done
  printf '%s %s%s' "$(tool_env)" "$(q "$(command -v dtop)")" "$hosts"
}

# tool_open NAME CMDLINE TTY — a session of COLS x ROWS on the private server
# whose pane waits for GO before exec'ing CMDLINE, so the pane's pid IS the tool and
# `pipe-pane -O` copies every byte it writes to TTY from the first one. Sets TOOL_PID.
# The tool starts on tool_go NAME.
tool_open() {
  local name=$1 cmdline=$2 tty=$3
  : >"$tty"
  # In an empty directory: dtop also reads ./config.yaml.
  T new-session -d -s "$name" -x "$COLS" -y "$ROWS" -c "$HOMEDIR/cwd" "tmux wait-for go-$name; exec $cmdline"
  T set-option -w -t "$name" remain-on-exit on        # a tool that dies leaves its last screen
  T pipe-pane -O -t "$name" "cat >> $(q "$tty")"
  TOOL_PID=$(T display-message -p -t "$name" '#{pane_pid}')
}
tool_go() { T wait-for -S "go-$1"; }
# tool_close NAME PID SCREEN — keep the final screen, then end the session: SIGHUP to
# the tool, TERM and then KILL (our own pid) if it lingers. Sets TOOL_DEAD (1: the
# tool had exited before).
tool_close() {
  local name=$1 pid=$2 screen=$3 sig
  TOOL_DEAD=$(T display-message -p -t "$name" '#{pane_dead}')
  T capture-pane -p -t "$name" >"$screen" 2>/dev/null || true
  T kill-session -t "$name" 2>/dev/null || true
  for sig in TERM KILL; do
    for _ in $(seq 50); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
    if [[ -e /proc/$pid ]]; then kill -"$sig" "$pid" 2>/dev/null || true; fi
  done
}
