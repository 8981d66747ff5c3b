#!/usr/bin/env bash
# assets/refresh.sh — redraws the README's pictures from the real lab.
#
# Brings the lab up if it is not (scripts/lab.sh ensure, needs root), adds a small shop to
# its seed fixture on lab1-lab4 (every object named pic-…, so no test of anyone else is
# disturbed, and no lab daemon is stopped), waits until each container is in the state the
# pictures show, writes assets/{clusters,containers,pools,triage}.svg with
# `fleetdeck snapshot --format svg` against the lab's config, and removes what it added,
# also when it fails.
#
# The scene, besides the seed (web-1, db, worker, flaky, batch, crashloop … on every daemon):
#   network pic-net on each daemon (10.60.N.0/24, range .0/25), every container on a static
#   address; pic-shop-web-N, pic-shop-api-N, pic-redis (healthy / plain running);
#   pic-shop-api-2 unhealthy (a healthcheck that fails); pic-invoice-run exited 3;
#   pic-thumbnailer killed by the OOM killer (exit 137); pic-mailer restarting (exits 1,
#   --restart always).
#
# Knobs: FLEETDECK (a built binary; default: cargo build, then target/debug/fleetdeck),
#        SIZE (default 120x32).
set -euo pipefail
cd "$(dirname "$0")/.."

unset DOCKER_HOST DOCKER_CONTEXT NO_COLOR
export LC_ALL=C
LAB_RUN=/run/fleetdeck-lab
CONFIG=$LAB_RUN/fleetdeck.toml
SIZE=${SIZE:-120x32}
IMAGE=busybox:local

log() { printf 'refresh: %s\n' "$*" >&2; }
die() { printf 'refresh: ERROR: %s\n' "$*" >&2; exit 1; }
dk()  { local i=$1; shift; docker -H "unix://$LAB_RUN/lab$i/docker.sock" "$@"; }

cleanup() {
  local i
  for i in 1 2 3 4; do
    mapfile -t names < <(dk "$i" ps -a --format '{{.Names}}' 2>/dev/null | grep '^pic-' || true)
    if (( ${#names[@]} )); then dk "$i" rm -f "${names[@]}" >/dev/null 2>&1 || true; fi
    dk "$i" network rm pic-net >/dev/null 2>&1 || true
  done
  return 0
}

# Polls `docker inspect -f FORMAT` until it prints WANT (at most 60 s): a container's
# healthcheck or restart policy takes its own time to get there.
wait_for() {
  local i=$1 name=$2 format=$3 want=$4 got="" deadline=$((SECONDS + 60))
  while (( SECONDS < deadline )); do
    got=$(dk "$i" inspect -f "$format" "$name" 2>/dev/null || true)
    [[ $got == "$want" ]] && return 0
    sleep 0.5
  done
  die "lab$i/$name: waited 60 s for $format = $want, last saw \"$got\""
}

bash scripts/lab.sh ensure
[[ -r $CONFIG ]] || die "$CONFIG missing after scripts/lab.sh ensure"
dk 1 image inspect "$IMAGE" >/dev/null || die "$IMAGE missing on lab1 (scripts/lab.sh seed)"

if [[ -n ${FLEETDECK:-} ]]; then
  bin=$FLEETDECK
else
  log "building fleetdeck..."
  cargo build --quiet --locked --bin fleetdeck
  bin=${CARGO_TARGET_DIR:-target}/debug/fleetdeck
fi
[[ -x $bin ]] || die "no fleetdeck binary at $bin"

cleanup
trap cleanup EXIT

log "seeding the pic- scene on lab1-lab4..."
for i in 1 2 3 4; do
  dk "$i" network create --driver bridge --subnet "10.60.$i.0/24" --ip-range "10.60.$i.0/25" \
    --gateway "10.60.$i.1" --label fleetdeck.lab=pic pic-net >/dev/null
done
# run I NAME IP [docker run options…] -- [command…]
run() {
  local i=$1 name=$2 ip=$3; shift 3
  local opts=()
  while (( $# )) && [[ $1 != -- ]]; do opts+=("$1"); shift; done
  (( $# )) && shift
  dk "$i" run -d --name "$name" --network pic-net --ip "$ip" --label fleetdeck.lab=pic \
    --label app="${name#pic-}" "${opts[@]}" "$IMAGE" "$@" \
    2> >(grep -v 'IPv4 forwarding is disabled' >&2) >/dev/null
}
healthy=(--health-cmd true --health-interval 1s --health-start-period 0s)
for i in 1 2; do
  run "$i" "pic-shop-web-$i" "10.60.$i.10" "${healthy[@]}" -p "808$i:80" -- httpd -f -p 80
done
run 1 pic-shop-api-1 10.60.1.11 "${healthy[@]}" -- sleep 1d
run 2 pic-shop-api-2 10.60.2.11 --health-cmd false --health-interval 1s --health-retries 1 -- sleep 1d
run 3 pic-redis 10.60.3.10 -- sleep 1d
run 3 pic-mailer 10.60.3.11 --restart always -- sh -c 'echo "smtp: connection refused" >&2; exit 1'
run 4 pic-invoice-run 10.60.4.10 -- sh -c 'echo "invoice 2026-11: 3 failed" >&2; exit 3'
run 4 pic-thumbnailer 10.60.4.11 --memory 8m --memory-swap 8m -- tail /dev/zero
run 4 pic-metrics 10.60.4.12 -- sleep 1d

for i in 1 2; do wait_for "$i" "pic-shop-web-$i" '{{.State.Health.Status}}' healthy; done
wait_for 1 pic-shop-api-1 '{{.State.Health.Status}}' healthy
wait_for 2 pic-shop-api-2 '{{.State.Health.Status}}' unhealthy
wait_for 4 pic-invoice-run '{{.State.Status}} {{.State.ExitCode}}' 'exited 3'
wait_for 4 pic-thumbnailer '{{.State.Status}} {{.State.OOMKilled}}' 'exited true'
# Restarting, after 6 tries: Docker's back-off (doubling from 100 ms) then keeps it waiting
# 6 s and more, long enough for the snapshots to see it so.
deadline=$((SECONDS + 60))
until [[ $(dk 3 inspect -f '{{.RestartCount}} {{.State.Status}}' pic-mailer) =~ ^([6-9]|[1-9][0-9]+)\ restarting$ ]]; do
  (( SECONDS < deadline )) || die "lab3/pic-mailer never settled into restarting"
  sleep 0.2
done

width=${SIZE%x*} height=${SIZE#*x}
for pair in clusters:clusters containers:containers ippool:pools triage:triage; do
  view=${pair%%:*} file=assets/${pair#*:}.svg
  # Exit 1 only says an endpoint is down; the picture is still the picture.
  "$bin" --config "$CONFIG" snapshot --view "$view" --width "$width" --height "$height" \
    --format svg >"$file.tmp" || (( $? == 1 )) || die "snapshot --view $view failed"
  mv "$file.tmp" "$file"
  log "wrote $file"
done
