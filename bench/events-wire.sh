#!/usr/bin/env bash
# bench/events-wire.sh — what a host's event stream sends fleetdeck, with and without
# fleetdeck's event filter (issue 22: "light for the hosts"; over SSH, bandwidth matters).
#
# The set-up: on one lab daemon (lab3 by default, over its unix socket) BENCH_N containers
# (default 25) with a healthcheck every BENCH_EVERY s (default 2: a window fills fast) and
# the labels a Compose service carries (project, service, config hash, number, oneoff,
# working dir, config files, version: each event of a container carries all of them). They
# sleep; nothing else is done to them. Once all are healthy, two live event streams of the
# daemon are read side by side for BENCH_D s (default 60), both opened at once:
#   all        every event of those containers (filter: their label only), as a client
#              without a filter receives them;
#   fleetdeck  the same with fleetdeck's `event` filter added: the actions of EVENT_ACTIONS,
#              read out of src/engine/sync.rs (the list the binary is built with).
# (Live, not a replay with since/until: a daemon replays no more than its last 256 events.)
# For each: events, bytes (the JSON lines the daemon wrote), and those per healthcheck run;
# then per hour for the same containers at Docker's default healthcheck interval (30 s).
# The containers are removed at the end, also on Ctrl-C, TERM or an error.
#
# Usage (as root, the lab up: scripts/lab.sh ensure):
#   bench/events-wire.sh
#   BENCH_LAB=2 BENCH_N=50 BENCH_D=120 bench/events-wire.sh
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

LAB=${BENCH_LAB:-3}
N=${BENCH_N:-25}
EVERY=${BENCH_EVERY:-2}
D=${BENCH_D:-60}
TAG="fleetdeck.bench.events-wire=$$"
SOCK=$(sock "$LAB")

log() { printf 'events-wire: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
[[ -S $SOCK ]] || die "lab$LAB is not up ($SOCK): scripts/lab.sh ensure"
TMP=$(mktemp -d)
cleanup() {
  dk "$LAB" ps -aq --filter "label=$TAG" | xargs -r docker -H "unix://$SOCK" rm -f >/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# fleetdeck's actions, from the source the binary is built from.
mapfile -t ACTIONS < <(sed -n '/^pub const EVENT_ACTIONS/,/^\];/p' "$REPO/src/engine/sync.rs" |
  grep -o '^ *"[^"]*"' | tr -d ' "')
(( ${#ACTIONS[@]} > 10 )) || die "could not read EVENT_ACTIONS from src/engine/sync.rs"

filters() {   # [ACTION...] -> the URL-encoded `filters` JSON: our label, and the actions if any
  python3 -c 'import json, sys, urllib.parse
f = {"label": [sys.argv[1]]}
if len(sys.argv) > 2: f["event"] = sys.argv[2:]
print(urllib.parse.quote(json.dumps(f)))' "$TAG" "$@"
}

log "lab$LAB: starting $N containers, healthcheck every ${EVERY}s, Compose labels"
for ((k = 0; k < N; k++)); do
  dk "$LAB" run -d --name "ewire-$$-$k" --label "$TAG" \
    --label com.docker.compose.project=shop --label com.docker.compose.service="api$k" \
    --label com.docker.compose.config-hash="$(printf '%064x' "$k")" \
    --label com.docker.compose.container-number=1 --label com.docker.compose.oneoff=False \
    --label com.docker.compose.project.working_dir=/srv/deploy/shop \
    --label com.docker.compose.project.config_files=/srv/deploy/shop/docker-compose.yml \
    --label com.docker.compose.version=2.24.6 \
    --health-cmd true --health-interval "${EVERY}s" "$IMAGE" sh -c "$CMD" >/dev/null 2>&1 &
done
wait
# The window starts once every container is healthy: what follows is the steady state.
for ((t = 0; ; t++)); do
  healthy=$(dk "$LAB" ps -q --filter "label=$TAG" --filter health=healthy | wc -l)
  (( healthy == N )) && break
  (( t < 120 )) || die "only $healthy of $N containers healthy after 60 s"
  sleep 0.5
done
log "two live streams for ${D}s"
stream() {   # FILTERS OUTFILE
  timeout "$D" curl -sSN --unix-socket "$SOCK" "http://lab/v1.41/events?filters=$1" >"$2" || true
}
stream "$(filters)" "$TMP/all" &
stream "$(filters "${ACTIONS[@]}")" "$TMP/fd" &
wait
count() {   # FILE -> "events bytes execs"
  awk '{ n++; b += length($0) + 1 } /"Action":"exec_/ { x++ } END { printf "%d %d %d\n", n, b, x }' "$1"
}
read -r all_n all_b all_x < <(count "$TMP/all")
read -r fd_n fd_b fd_x < <(count "$TMP/fd")
(( all_x > 0 )) || die "no healthcheck ran in the window"
runs=$(( all_x / 3 ))   # a healthcheck run is exec_create, exec_start, exec_die

per_hour() { awk -v b="$1" -v r="$runs" -v n="$N" 'BEGIN { printf "%.0f", b / r * n * 120 / 1024 }'; }
printf '\n#### %s UTC, lab%s, %d containers, healthcheck every %ss, %ss window (%d healthcheck runs)\n\n' \
  "$(date -u '+%Y-%m-%d %H:%M')" "$LAB" "$N" "$EVERY" "$D" "$runs"
printf '| stream | events | of which exec_* | bytes | bytes per healthcheck run | KB/hour at 30 s healthchecks |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
printf '| all (no filter) | %d | %d | %d | %d | %s |\n' "$all_n" "$all_x" "$all_b" $(( all_b / runs )) "$(per_hour "$all_b")"
printf '| fleetdeck (event filter) | %d | %d | %d | %d | %s |\n' "$fd_n" "$fd_x" "$fd_b" $(( fd_b / runs )) "$(per_hour "$fd_b")"
(( fd_x == 0 )) || die "fleetdeck's filter let $fd_x exec events through"
