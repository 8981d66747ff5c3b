#!/usr/bin/env bash
# bench/event-screen.sh — event → screen: how long after a container is killed does the
# dashboard show it no longer running? fleetdeck against dtop, in the same run (issue 22,
# "Scale and latency": median of 10 kills <= 0.7 x dtop's median).
#
# The set-up: on one lab daemon (lab1 by default, over its unix socket) the script starts
# BENCH_N sleeping containers of its own (busybox:local, `sh -c 'trap "exit 0" TERM; sleep
# 100000 & wait'`), named `0evs-PID-K` (a leading digit sorts them onto the first screen of a
# table sorted by name) and labelled fleetdeck.bench.event-screen=PID. They are removed at the
# end, also on Ctrl-C, TERM or an error. The daemon is shared with the tests: nothing else on
# it is touched, and no daemon is stopped.
#
# Tools, each run alone (the other is not running) in a tmux session of 200x50 on a private
# tmux server (-L), started through bench/lib.sh's tool_open with an empty HOME:
#   fd     fleetdeck --view containers, default settings (one [[endpoint]], the unix socket)
#   dtop   dtop --host unix://..., default settings (found on PATH or BENCH_PEER_PATH; the
#          script stops with an error if it is missing: no silent skip)
# Sessions go in ABBA order (fd dtop dtop fd for two blocks), BENCH_BLOCK kills each, so a
# drift in the machine's load does not land on one tool.
#
# One kill (all times from the same wall clock, $EPOCHREALTIME, in µs):
#   1. wait a random 300-1300 ms (so the kill falls at a random point of the tool's stats
#      rounds, frame slots and clock ticks), then capture the pane (`capture-pane -p`) and
#      pick the victim: the next of our containers (round robin) whose row the tool SHOWS as
#      running in that capture, plus a second one shown running (the witness, see dtop below);
#   2. t0, then the kill through the Engine API directly, in the background:
#        curl --unix-socket SOCK -X POST http://lab/v1.41/containers/ID/kill
#      (SIGKILL; no docker CLI, whose 100-250 ms start-up would be in the figure);
#   3. capture the pane every 5 ms (a capture takes 1-4 ms; the report gives the mean gap)
#      until the victim's row shows it no longer running:
#        fd:    the first state word after its name on its row (the STATE column) is not
#               "running": "stopping" (the daemon's `kill` event, a stop signal sent, comes
#               in before its `die`) or "exited". After a "stopping", captures go on until
#               the row reads "exited": the report gives both ("kill → exited row");
#        dtop:  the icon before its name is no longer the running ▶ (on the die it turns
#               into a red ■ at once; seconds later the row leaves dtop's list of running
#               containers, which counts too while the witness's row is still there, so a
#               list that scrolled or a blank screen does not);
#      "screen" = the end of that capture - t0, the first sign; "exited" the same for the
#      exited row. They include the kill itself (the daemon signalling the process, reaping
#      it, emitting `kill` then `die`) and up to one capture interval;
#   4. the `die` event's own time (its timeNano, read back from GET /events for that
#      container after the fact): "die" = that - t0 is the daemon's share, and "after die" =
#      exited - die is the tool's: event stream read, model, frame, terminal write, and the
#      capture's resolution. The same clock on one machine, so the split is exact to the µs;
#   5. the container is started again (POST /containers/ID/start) and the script waits until
#      the tool shows it running again.
# Every wait has a deadline (BENCH_TIMEOUT s): a tool that does not show a kill or a restart
# in time stops the run with an error naming it and keeps its screen in the output dir.
#
# Report: per tool the median and p90 (nearest rank) of "screen", "exited" and "after die",
# the mean capture gap, and fleetdeck's medians as fractions of dtop's (the issue's target:
# "screen" <= 0.70).
# The machine's load (uptime) and its busy CPU over each session are printed: on a shared,
# 2-core machine the figures move with it.
#
# Knobs (environment):
#   BENCH_KILLS=10        kills per tool
#   BENCH_BLOCK=5         kills per tool session (sessions go A B B A ...)
#   BENCH_N=6             containers of ours on the daemon
#   BENCH_LAB=1           which lab daemon (its unix socket)
#   BENCH_TOOLS="fd dtop"
#   BENCH_TIMEOUT=5       seconds a tool has to show a kill, a restart (x2) or its first
#                         screen (x4)
#   BENCH_QUIET=60, BENCH_QUIET_MAX=60   before each session, wait (at most MAX s) until
#                         the machine's busy CPU over 3 s is below this % of one core
#   BENCH_OUT=DIR         results.tsv, report.md, screens (default: a new
#                         /tmp/event-screen.XXXXXX, kept)
#   BENCH_PEER_PATH=/work/peer-tools/bin   extra PATH entry for dtop
#   FLEETDECK=PATH        the binary (default target/dist/fleetdeck, else target/release)
#   BENCH_TRACE=0         1: fleetdeck runs with FLEETDECK_LOG=fleetdeck::latency=debug and the
#                         report splits its "after die" into its legs, from its log: die ->
#                         events read (engine thread) -> news received (app loop) -> frame
#                         drawn -> seen in a capture. The log lines cost a little: compare
#                         figures of runs with the same setting. (Log times are read as
#                         seconds of the UTC day: do not run across midnight UTC.)
#
# Usage (as root, the lab up):
#   cargo build --release --locked && bench/event-screen.sh
#   BENCH_KILLS=4 BENCH_BLOCK=2 bench/event-screen.sh          # a smoke run
set -Eeuo pipefail
# No silent stop: any failing command names itself (the cleanup still runs).
trap 'printf "event-screen: ERROR: line %s: %s failed (exit %s)\n" "$LINENO" "$BASH_COMMAND" "$?" >&2' ERR

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

KILLS=${BENCH_KILLS:-10}
BLOCK=${BENCH_BLOCK:-5}
N=${BENCH_N:-6}
LAB=${BENCH_LAB:-1}
TOOLS=${BENCH_TOOLS:-fd dtop}
TIMEOUT=${BENCH_TIMEOUT:-5}
QUIET=${BENCH_QUIET:-60}
QUIET_MAX=${BENCH_QUIET_MAX:-60}
PEER_PATH=${BENCH_PEER_PATH:-/work/peer-tools/bin}
TRACE=${BENCH_TRACE:-0}
FLEETDECK=${FLEETDECK:-}
if [[ -z $FLEETDECK ]]; then
  FLEETDECK=$REPO/target/dist/fleetdeck
  [[ -x $FLEETDECK ]] || FLEETDECK=$REPO/target/release/fleetdeck
fi
COLS=200
ROWS=50
POLL_US=5000
API=v1.41

log() { printf 'event-screen: %s\n' "$*" >&2; }
die() { printf 'event-screen: ERROR: %s\n' "$*" >&2; exit 1; }
url() { printf 'unix://%s' "$(sock "$1")"; }

for v in KILLS BLOCK N LAB TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "BENCH_$v must be a positive integer, got '${!v}'"
done
(( N >= 3 )) || die "BENCH_N must be at least 3 (a victim, a witness, and one to spare)"
[[ $EUID -eq 0 ]] || die "must run as root (the lab's sockets)"
for t in docker tmux curl jq awk; do command -v "$t" >/dev/null || die "needs $t"; done
[[ -x $FLEETDECK ]] || die "no fleetdeck binary at $FLEETDECK (cargo build --release --locked, or FLEETDECK=...)"
[[ -d $PEER_PATH ]] && PATH="$PATH:$PEER_PATH"
SOCK=$(sock "$LAB")
[[ -S $SOCK ]] || die "lab$LAB has no socket at $SOCK (scripts/lab.sh status)"
curl -sf --max-time 3 --unix-socket "$SOCK" "http://lab/_ping" >/dev/null || die "lab$LAB does not answer /_ping"

OUT=${BENCH_OUT:-$(mktemp -d /tmp/event-screen.XXXXXX)}
mkdir -p "$OUT"
HOMEDIR=$OUT/home
mkdir -p "$HOMEDIR/.config" "$HOMEDIR/state" "$HOMEDIR/cwd"
TSOCK=event-screen-$$
TAG="fleetdeck.bench.event-screen=$$"
PREFIX="0evs-$$-"
# A descriptor nothing is ever written to: `read -t` on it is a sleep without a fork.
exec {NEVER}<> <(:)

cleanup() {
  local rc=$? ids
  trap - EXIT INT TERM
  T kill-server 2>/dev/null || true     # our own server only (-L), with its tools
  ids=$(dk "$LAB" ps -aq --filter "label=$TAG" 2>/dev/null || true)
  if [[ -n $ids ]]; then
    log "removing our $(wc -w <<<"$ids") containers from lab$LAB"
    # shellcheck disable=SC2086
    dk "$LAB" rm -f $ids >/dev/null || log "removing them failed: docker -H unix://$SOCK rm -f \$(docker ps -aq --filter label=$TAG)"
  fi
  log "results and screens kept in $OUT"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------- the API --

# api METHOD PATH — the HTTP status of a request to the daemon (body discarded).
# A request that fails outright (timeout, refused) answers 000.
api() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$SOCK" -X "$1" "http://lab/$API$2" || true; }

# die_nano ID T0 — the daemon's time (ns) of the container's first `die` at or after T0 (µs).
die_nano() {
  local id=$1 t0=$2 since until filters
  since=$(awk -v t="$t0" 'BEGIN { printf "%.6f", t / 1e6 - 0.001 }')
  until=$(( ${EPOCHREALTIME%.*} + 1 ))
  filters=$(jq -rn --arg id "$id" '{container: [$id], type: ["container"], event: ["die"]} | @uri')
  curl -s --max-time 5 --unix-socket "$SOCK" "http://lab/$API/events?since=$since&until=$until&filters=$filters" |
    jq -rs 'map(.timeNano) | min // empty' || true
}

# ---------------------------------------------------------- what a tool shows --

# shows TOOL SCREEN NAME [WITNESS] — what the tool's screen says of container NAME:
# "running", "stopping" (fleetdeck: a stop signal went out, the die is not in yet),
# "stopped" or "absent" (not on the screen, or the screen says nothing sure).
shows() {
  local tool=$1 screen=$2 name=$3 witness=${4:-} re
  case $tool in
    fd)
      # The containers table: NAME, then (IMAGE, ...) the STATE column's word.
      re=" $name +[^"$'\n'"]* (running|stopping|exited|created|paused|restarting|dead|removing) "
      if [[ $screen =~ $re ]]; then
        case ${BASH_REMATCH[1]} in
          running|stopping) echo "${BASH_REMATCH[1]}" ;;
          *) echo stopped ;;
        esac
      else
        echo absent
      fi ;;
    dtop)
      # Each row "ID ICON NAME ...": a green ▶ while running; on the die the icon turns to a
      # red ■ at once, and seconds later (its re-sort) the row leaves the list of running
      # containers. Either says stopped; a row gone counts only if the list is still on
      # screen (the witness's row is there).
      if [[ $screen == *"▶ $name "* ]]; then echo running
      elif [[ $screen == *" $name "* ]]; then echo stopped
      elif [[ -n $witness && $screen == *" $witness "* ]]; then echo stopped
      else echo absent
      fi ;;
  esac
}

# wait_shows NAME TOOL SESSION WANT LIMIT_US [WITNESS] — capture every POLL_US until the tool
# shows NAME as WANT (a `shows` word, or several as "a|b"); sets WAIT_END (µs, end of the
# capture that showed it), WAIT_WORD (what it showed), WAIT_N (captures); dies after LIMIT_US
# from WAIT_START, keeping the last screen.
wait_shows() {
  local name=$1 tool=$2 session=$3 want=$4 limit=$5 witness=${6:-} cap now next
  WAIT_N=0
  next=$WAIT_START
  while :; do
    cap=$(T capture-pane -p -t "$session")
    now=$(now_us); WAIT_N=$(( WAIT_N + 1 ))
    WAIT_WORD=$(shows "$tool" "$cap" "$name" "$witness")
    if [[ $WAIT_WORD =~ ^($want)$ ]]; then WAIT_END=$now; return; fi
    if (( now - WAIT_START >= limit )); then
      printf '%s\n' "$cap" >"$OUT/$session.timeout.screen"
      die "$tool did not show $name $want within $(( limit / 1000 )) ms (screen: $OUT/$session.timeout.screen)"
    fi
    next=$(( next + POLL_US ))
    if (( next > now )); then
      read -r -t "$(awk -v us=$(( next - now )) 'BEGIN { printf "%.6f", us / 1e6 }')" -u "$NEVER" || true
    else
      next=$now
    fi
  done
}

# ------------------------------------------------------------- containers --

NAMES=()
IDS=()
make_containers() {
  local k id
  for (( k = 1; k <= N; k++ )); do
    id=$(dk "$LAB" run -d --name "$PREFIX$k" --label "$TAG" "$IMAGE" sh -c "$CMD" 2>>"$OUT/docker-run.log") ||
      die "docker run $PREFIX$k on lab$LAB failed (see $OUT/docker-run.log)"
    NAMES+=("$PREFIX$k"); IDS+=("$id")
  done
  log "lab$LAB: started ${N} containers ${PREFIX}1..$N ($IMAGE, label $TAG)"
}

# ---------------------------------------------------------------- sessions --

tool_cmdline() {
  case $1 in
    fd)
      local cfg=$OUT/fleetdeck.toml
      printf '[[endpoint]]\nname = "lab%s"\nurl = "%s"\n' "$LAB" "$(url "$LAB")" >"$cfg"
      local trace=""
      [[ $TRACE == 1 ]] && trace="FLEETDECK_LOG=fleetdeck::latency=debug "
      printf '%s %s%s --config %s --view containers' "$(tool_env)" "$trace" "$(q "$FLEETDECK")" "$(q "$cfg")" ;;
    dtop)
      dtop_cmdline "$LAB" || die "dtop not found on PATH or in $PEER_PATH (cargo install dtop --version 0.10.2 --locked --root /work/peer-tools)" ;;
    *) die "unknown tool '$1' (fd, dtop)" ;;
  esac
}

NEXT=0   # round robin over our containers, across sessions
RESULTS=$OUT/results.tsv
printf 'session\tkill\ttool\tcontainer\tscreen_us\tdie_us\tafter_die_us\tkill_http\tkill_call_us\tcaptures\tmean_gap_us\tt0_us\texited_us\n' >"$RESULTS"

# session S TOOL COUNT — one tool alone: start it, wait for our containers on its screen,
# COUNT kills, stop it.
session() {
  local s=$1 tool=$2 count=$3 name="s$1-$2" cmdline pid k h0 h1 t0s t1s
  cmdline=$(tool_cmdline "$tool")
  wait_quiet
  tool_open "$name" "$cmdline" "$OUT/$name.tty"; pid=$TOOL_PID
  h0=$(host_busy); t0s=$EPOCHREALTIME
  tool_go "$name"
  WAIT_START=$(now_us)
  wait_shows "${NAMES[0]}" "$tool" "$name" running $(( TIMEOUT * 4000000 ))
  log "session $s: $tool up, ${NAMES[0]} shown running after $(( (WAIT_END - WAIT_START) / 1000 )) ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
  sleep 2   # past the first stats round
  for (( k = 1; k <= count; k++ )); do one_kill "$s" "$tool" "$name" "$k"; done
  h1=$(host_busy); t1s=$EPOCHREALTIME
  log "session $s: $tool done; machine busy $(awk -v a="$h0" -v b="$h1" -v t0="$t0s" -v t1="$t1s" -v tck="$TCK" 'BEGIN { printf "%.0f", (b - a) / tck / (t1 - t0) * 100 }') % of a core over the session"
  tool_close "$name" "$pid" "$OUT/$name.screen"
  [[ $TOOL_DEAD == 1 ]] && die "$tool exited during session $s (see $OUT/$name.screen)"
  return 0
}

# one_kill S TOOL SESSION K
one_kill() {
  local s=$1 tool=$2 session=$3 k=$4 cap i j victim="" vid witness="" t0 curlout code call
  read -r -t "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.3 + r / 32768 }')" -u "$NEVER" || true
  cap=$(T capture-pane -p -t "$session")
  for (( j = 0; j < N; j++ )); do
    i=$(( (NEXT + j) % N ))
    [[ $(shows "$tool" "$cap" "${NAMES[i]}") == running ]] || continue
    if [[ -z $victim ]]; then victim=${NAMES[i]}; vid=${IDS[i]}; NEXT=$(( i + 1 ))
    else witness=${NAMES[i]}; break
    fi
  done
  if [[ -z $victim || -z $witness ]]; then
    printf '%s\n' "$cap" >"$OUT/$session.no-victim.screen"
    die "$tool shows fewer than two of our containers running (screen: $OUT/$session.no-victim.screen)"
  fi
  curlout=$OUT/$session.kill$k.curl
  t0=$(now_us)
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 --unix-socket "$SOCK" \
    -X POST "http://lab/$API/containers/$vid/kill" >"$curlout" &
  local cpid=$!
  WAIT_START=$t0
  wait_shows "$victim" "$tool" "$session" "stopping|stopped" $(( TIMEOUT * 1000000 )) "$witness"
  local te=$WAIT_END n=$WAIT_N tx=$WAIT_END
  # fleetdeck's first sign may be "stopping" (the kill event); go on to the exited row.
  if [[ $WAIT_WORD != stopped ]]; then
    wait_shows "$victim" "$tool" "$session" stopped $(( TIMEOUT * 1000000 )) "$witness"
    tx=$WAIT_END; n=$(( n + WAIT_N ))
  fi
  wait "$cpid" || die "the kill request for $victim failed (curl exit $?: 28 is its 10 s timeout)"
  read -r code call <"$curlout"
  [[ $code == 204 ]] || die "POST /containers/$victim/kill answered $code"
  local dn du
  dn=$(die_nano "$vid" "$t0")
  [[ -n $dn ]] || die "no die event of $victim on lab$LAB after the kill"
  du=$(( dn / 1000 - t0 ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$k" "$tool" "$victim" $(( te - t0 )) "$du" $(( tx - t0 - du )) \
    "$code" "$(awk -v c="$call" 'BEGIN { printf "%.0f", c * 1e6 }')" "$n" $(( (tx - t0) / n )) "$t0" $(( tx - t0 )) >>"$RESULTS"
  log "  $tool kill $k: $victim shown no longer running after $(( (te - t0) / 1000 )) ms, exited after $(( (tx - t0) / 1000 )) ms (die event at $(( du / 1000 )) ms, $n captures)"
  # Back to running before the next kill.
  code=$(api POST "/containers/$vid/start")
  [[ $code == 204 ]] || die "POST /containers/$victim/start answered $code (000: no answer within 10 s)"
  WAIT_START=$(now_us)
  wait_shows "$victim" "$tool" "$session" running $(( TIMEOUT * 2000000 ))
}

# ------------------------------------------------------------------ report --

report() {
  awk -F'\t' -v tools="$TOOLS" '
    function sorted(arr, n,   i, j, x) { for (i = 2; i <= n; i++) { x = arr[i]; for (j = i - 1; j >= 1 && arr[j] > x; j--) arr[j + 1] = arr[j]; arr[j + 1] = x } }
    function median(arr, n) { return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
    function p90(arr, n,   i) { i = int(0.9 * n + 0.999999); if (i < 1) i = 1; return arr[i] }
    NR > 1 {
      t = $3; n[t]++; S[t, n[t]] = $5 / 1000; A[t, n[t]] = $7 / 1000; D[t, n[t]] = $6 / 1000; X[t, n[t]] = $13 / 1000
      cap[t] += $10; scr[t] += $13; call[t] += $9 / 1000
    }
    END {
      print "| tool | kills | kill → screen median / p90 ms | kill → exited row median / p90 ms | die event median ms | die event → exited row median / p90 ms | kill call mean ms | mean capture gap ms |"
      print "|---|---:|---:|---:|---:|---:|---:|---:|"
      m = split(tools, T, " ")
      for (k = 1; k <= m; k++) {
        t = T[k]; c = n[t]; if (!c) continue
        for (i = 1; i <= c; i++) { s[i] = S[t, i]; a[i] = A[t, i]; d[i] = D[t, i]; x[i] = X[t, i] }
        sorted(s, c); sorted(a, c); sorted(d, c); sorted(x, c)
        med[t] = median(s, c); amed[t] = median(a, c); xmed[t] = median(x, c)
        printf "| %s | %d | %.0f / %.0f | %.0f / %.0f | %.0f | %.1f / %.1f | %.1f | %.1f |\n", t, c, med[t], p90(s, c), xmed[t], p90(x, c), median(d, c), amed[t], p90(a, c), call[t] / c, scr[t] / cap[t] / 1000
      }
      if (("fd" in med) && ("dtop" in med) && med["dtop"] > 0) {
        r = med["fd"] / med["dtop"]
        printf "\nfleetdeck / dtop, kill → screen medians: %.0f / %.0f ms = %.2f (target <= 0.70: %s)\n", med["fd"], med["dtop"], r, (r <= 0.70) ? "met" : "NOT met"
        if (xmed["dtop"] > 0) printf "fleetdeck / dtop, kill → exited row medians: %.0f / %.0f ms = %.2f\n", xmed["fd"], xmed["dtop"], xmed["fd"] / xmed["dtop"]
        if (amed["dtop"] > 0) printf "fleetdeck / dtop, die event → exited row medians: %.1f / %.1f ms = %.2f\n", amed["fd"], amed["dtop"], amed["fd"] / amed["dtop"]
      }
    }' "$RESULTS"
}

# trace_split — with BENCH_TRACE=1: each fleetdeck kill's "after die" in legs, from its
# log (the "events read" line of the victim's die, then the next "container news received"
# and "frame drawn" lines), median and p90 of each leg in ms.
trace_split() {
  local logs
  logs=$(fd_logs)
  [[ -n $logs ]] || { echo "(no fleetdeck log under $HOMEDIR/state)"; return; }
  # shellcheck disable=SC2086
  cat $logs | awk -v results="$RESULTS" "$AWK_LEGS"'
    { L[++nl] = $0; T[nl] = us($1) }
    END {
      while ((getline row < results) > 0) {
        split(row, f, "\t"); if (f[3] != "fd") continue
        day = f[12] - f[12] % 86400000000; die = f[12] + f[6]; seen = f[12] + f[13]
        read = news = frame = 0
        for (i = 1; i <= nl; i++) {
          t = day + T[i]
          if (!read) { if (t >= f[12] && L[i] ~ /events read/ && L[i] ~ ("actor=" f[4] "( |$)") && L[i] ~ /action=die/) read = t; continue }
          if (!news && L[i] ~ /(container news|events) received/) { news = t; continue }
          if (news && L[i] ~ /frame drawn/) { frame = t; break }
        }
        if (!frame) { missing++; continue }
        n++; a[n] = (read - die) / 1000; b[n] = (news - read) / 1000; c[n] = (frame - news) / 1000; d[n] = (seen - frame) / 1000
      }
      if (missing) printf "(%d fleetdeck kills without their log lines)\n", missing
      if (!n) exit
      sorted(a, n); sorted(b, n); sorted(c, n); sorted(d, n)
      print "| fleetdeck leg (from its log) | median ms | p90 ms |"
      print "|---|---:|---:|"
      printf "| die event -> events read (engine thread) | %.1f | %.1f |\n", median(a, n), p90(a, n)
      printf "| events read -> news received (app loop) | %.1f | %.1f |\n", median(b, n), p90(b, n)
      printf "| news received -> frame drawn | %.1f | %.1f |\n", median(c, n), p90(c, n)
      printf "| frame drawn -> seen in a capture | %.1f | %.1f |\n", median(d, n), p90(d, n)
    }'
}

# -------------------------------------------------------------------- main --

{
  echo "# $(date -u +%FT%TZ) host $(uname -r), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); lab$LAB docker engine $(dk "$LAB" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), $(dk "$LAB" ps -q | wc -l) running containers on it, $(tmux -V)"
  echo "# fleetdeck: $("$FLEETDECK" --version 2>/dev/null || echo '?') ($FLEETDECK, built $(date -u -r "$FLEETDECK" '+%F %H:%M UTC'))"
  if command -v dtop >/dev/null; then echo "# dtop: $(dtop --version 2>/dev/null | head -1) ($(command -v dtop))"; fi
  echo "# $KILLS kills per tool in sessions of $BLOCK; kill = curl POST /$API/containers/ID/kill on $SOCK"
} | tee "$OUT/header.txt"
make_containers
read -r -a list <<<"$TOOLS"
s=0
for (( done_kills = 0; done_kills < KILLS; done_kills += BLOCK )); do
  count=$(( KILLS - done_kills < BLOCK ? KILLS - done_kills : BLOCK ))
  for tool in "${list[@]}"; do s=$(( s + 1 )); session "$s" "$tool" "$count"; done
  mapfile -t list < <(printf '%s\n' "${list[@]}" | tac)   # A B, then B A
done
{
  echo
  echo "#### $(date -u '+%F %H:%M UTC') — lab$LAB (unix socket), tmux ${COLS}x${ROWS}, load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  report
  if [[ $TRACE == 1 ]]; then echo; trace_split; fi
} | tee "$OUT/report.md"
