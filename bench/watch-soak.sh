#!/usr/bin/env bash
# What `fleetdeck watch` costs over time: it runs with the default alert rules (no [[alert]]
# in the config) on the lab's daemons (the config scripts/lab.sh writes, lab1-lab4), with a
# [[notify]] target pointing at a local port nobody listens on unless WATCH_NOTIFY_URL says
# otherwise, and every 30 s prints its CPU use over the last 30 s as a percentage of one core and
# its anonymous resident memory (RssAnon from /proc/PID/status: the heap, what a leak grows; file-
# backed pages of the binary are left out). At the end: average CPU, first and last RssAnon,
# and the peak. Issue 19's bar: flat memory and under 2 % of one core over 10 minutes.
#
#   bench/watch-soak.sh [MINUTES]          (default 10)
#   FLEETDECK_BIN=target/debug/fleetdeck bench/watch-soak.sh 2     (a smoke run)
#
# Needs the lab (scripts/lab.sh up) and a dist build (cargo build --profile dist --locked).
# Touches no container: run it beside the test suite if you like, but the figures are then
# the suite's too (the daemons are busier, so is fleetdeck).
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${1:-10}
bin=${FLEETDECK_BIN:-target/dist/fleetdeck}
[[ -x $bin ]] || { echo "build first: cargo build --profile dist --locked" >&2; exit 2; }
lab_config=/run/fleetdeck-lab/fleetdeck.toml
[[ -f $lab_config ]] || { echo "the lab is not up: scripts/lab.sh up" >&2; exit 2; }
every=${WATCH_SAMPLE_S:-30}
work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cp "$lab_config" "$work/fleetdeck.toml"
notify_url=${WATCH_NOTIFY_URL:-http://127.0.0.1:9/fleetdeck}
printf '\n[[notify]]\nname = "soak"\nurl = "%s"\n' "$notify_url" >> "$work/fleetdeck.toml"

XDG_STATE_HOME=$work "$bin" --config "$work/fleetdeck.toml" watch 2> "$work/stderr" &
pid=$!
sleep 1
kill -0 "$pid" 2>/dev/null || { echo "fleetdeck watch did not start:" >&2; cat "$work/stderr" >&2; exit 1; }

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss_anon() { awk '/^RssAnon/ {print $2}' "/proc/$pid/status"; }

printf '%8s %8s %12s\n' "elapsed" "cpu_%" "rss_anon_kb"
start=$SECONDS
end=$(( start + minutes * 60 ))
t0_ticks=$(cpu_ticks)
first_rss=$(rss_anon)
last_ticks=$t0_ticks last_t=$SECONDS peak=$first_rss rss=$first_rss
while (( SECONDS < end )); do
  sleep "$every"
  kill -0 "$pid" 2>/dev/null || { echo "fleetdeck watch exited:" >&2; cat "$work/stderr" >&2; exit 1; }
  ticks=$(cpu_ticks) now=$SECONDS rss=$(rss_anon)
  (( rss > peak )) && peak=$rss
  cpu=$(awk -v d="$(( ticks - last_ticks ))" -v s="$(( now - last_t ))" -v hz="$hz" \
    'BEGIN { printf "%.2f", (s > 0 ? 100 * d / hz / s : 0) }')
  printf '%7ss %8s %12s\n' "$(( now - start ))" "$cpu" "$rss"
  last_ticks=$ticks last_t=$now
done
total=$(awk -v d="$(( last_ticks - t0_ticks ))" -v s="$(( last_t - start ))" -v hz="$hz" \
  'BEGIN { printf "%.2f", (s > 0 ? 100 * d / hz / s : 0) }')
echo "summary: ${minutes} min, average CPU ${total} % of one core; RssAnon ${first_rss} kB at" \
  "start, ${rss} kB at the end, peak ${peak} kB"
echo "fleetdeck watch said:"
sed 's/^/  /' "$work/stderr"
