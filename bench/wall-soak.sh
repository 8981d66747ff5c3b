#!/usr/bin/env bash
# A soak of the wall display, compressed in time: fleetdeck --wall watches the lab while
# containers are churned on lab1-lab3 (one created and removed every second or so) and lab4's
# daemon is killed and restarted every 30 s. Every 10 s it records fleetdeck's RSS, threads and
# open file descriptors (connections included). Flat figures mean no leak of memory, tasks or
# connections; the event log, log tails and stats histories are bounded by design and this
# shows it. Needs the lab (scripts/lab.sh up) and a dist build (cargo build --profile dist); uses lab4, so do not run it
# during the test suite.
#
#   bench/wall-soak.sh [MINUTES]       (default 5)
#   SOAK_EVENTS=500 bench/wall-soak.sh 15    (a 500-event log: fills in minutes, so any growth
#                                             after that is not the event log)
#   SOAK_PARALLEL=1 bench/wall-soak.sh 90    (one churn loop per lab at once: about three times
#                                             the events, so the default 10,000-event log is full
#                                             within the first half hour)
#
# The "events" column counts the Docker events lab1-lab3 have sent since the start that
# fleetdeck keeps (healthcheck exec_* events are left out, as the event log leaves them out),
# from a `docker events` follower per daemon (a daemon keeps only its last 256 for `--since`,
# so they cannot be read back afterwards). Once it passes the log's capacity (plus lab4's
# and fleetdeck's own few), the log is full and memory should stop growing.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-5}
bin=${FLEETDECK_BIN:-target/dist/fleetdeck}
[[ -x $bin ]] || { echo "build first: cargo build --profile dist --locked" >&2; exit 2; }
config=/run/fleetdeck-lab/fleetdeck.toml
[[ -f $config ]] || { echo "the lab is not up: scripts/lab.sh up" >&2; exit 2; }
session=fdsoak-$$
work=$(mktemp -d)
# A short rotation and 1 s stats make the soak busier than a real wall.
sed 's/^\[stats\]//' "$config" > "$work/fleetdeck.toml"
printf '\n[stats]\ninterval_s = 1\n\n[wall]\nrotate_s = 3\n' >> "$work/fleetdeck.toml"
# SOAK_EVENTS=N: a smaller event log, to tell its filling from a leak.
if [[ -n ${SOAK_EVENTS:-} ]]; then printf '\n[events]\nhistory = %d\n' "$SOAK_EVENTS" >> "$work/fleetdeck.toml"; fi

followers=() churn=() chaos=
cleanup() {
  # Interrupted or done: stop the churn, the chaos and the event followers first.
  kill "${churn[@]}" $chaos "${followers[@]}" 2>/dev/null || true
  tmux kill-session -t "$session" 2>/dev/null || true
  for i in 1 2 3; do
    docker -H "unix:///run/fleetdeck-lab/lab$i/docker.sock" ps -aq --filter label=fleetdeck.soak=1 \
      | xargs -r docker -H "unix:///run/fleetdeck-lab/lab$i/docker.sock" rm -f >/dev/null 2>&1 || true
  done
  bash scripts/lab.sh start lab4 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# `exec`: the pane's process is fleetdeck itself, so its pid is the pane's (pgrep would pick
# any other fleetdeck running on the machine, a benchmark's for one).
tmux new-session -d -x 200 -y 50 -s "$session" \
  "XDG_STATE_HOME=$work exec $bin --wall --config $work/fleetdeck.toml"
# Every byte written to the terminal, for the bytes-per-minute column.
tmux pipe-pane -O -t "$session" "cat >> $work/tty"
pid=$(tmux display-message -p -t "$session" '#{pane_pid}')
sleep 2
[[ -n $pid && -d /proc/$pid ]] || { echo "fleetdeck did not start" >&2; exit 1; }

# Churn in the background.
# SOAK_CHURN="3": churn only these labs (leave lab1 quiet for a benchmark running meanwhile).
read -r -a churn_labs <<< "${SOAK_CHURN:-1 2 3}"
churn_loop() {
  local n=0 i
  while :; do
    i=${churn_labs[$(( n % ${#churn_labs[@]} ))]}
    docker -H "unix:///run/fleetdeck-lab/lab$i/docker.sock" run -d --rm --label fleetdeck.soak=1 \
      busybox:local sh -c 'echo hello; sleep 2' >/dev/null 2>&1 || true
    n=$(( n + 1 ))
    sleep 1
  done
}
if [[ -n ${SOAK_PARALLEL:-} ]]; then
  for lab in "${churn_labs[@]}"; do ( churn_labs=("$lab"); churn_loop ) & churn+=($!); done
else
  churn_loop & churn+=($!)
fi
(
  while :; do
    sleep 15; bash scripts/lab.sh stop lab4 >/dev/null 2>&1 || true
    sleep 15; bash scripts/lab.sh start lab4 >/dev/null 2>&1 || true
  done
) &
chaos=$!

for i in 1 2 3; do
  docker -H "unix:///run/fleetdeck-lab/lab$i/docker.sock" events --format '{{.Action}}' \
    > "$work/events-$i" 2>/dev/null & followers+=($!)
done
printf '%8s %10s %8s %6s %12s %10s %8s\n' "elapsed" "rss_kb" "threads" "fds" "tty_bytes" "cpu_s" "events"
end=$(( SECONDS + minutes * 60 ))
start=$SECONDS
while (( SECONDS < end )); do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  threads=$(awk '/^Threads/ {print $2}' "/proc/$pid/status")
  fds=$(ls "/proc/$pid/fd" | wc -l)
  bytes=$(stat -c %s "$work/tty" 2>/dev/null || echo 0)
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$pid/stat")
  events=$(cat "$work"/events-* | grep -vc '^exec_' || true)
  printf '%7ss %10s %8s %6s %12s %10s %8s\n' "$(( SECONDS - start ))" "$rss" "$threads" "$fds" "$bytes" "$cpu" "$events"
  sleep 10
done
kill "${churn[@]}" "$chaos" "${followers[@]}" 2>/dev/null || true
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
echo "peak RSS ${hwm} kB; fleetdeck still running: $(kill -0 "$pid" && echo yes || echo no)"
