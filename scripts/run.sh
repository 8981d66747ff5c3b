#!/usr/bin/env bash
# Run fleetdeck. With arguments, they are passed through (e.g. --config FILE,
# --host URL, check, snapshot). Without any, fleetdeck uses your config file,
# DOCKER_HOST or local Docker when one of them exists; on a machine with none of
# those it brings up the project's lab (scripts/lab.sh, needs root) and opens the
# dashboard on it, so there is a real fleet to look at in one step.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "building fleetdeck (release: the first build takes a few minutes on 2 cores)..." >&2
cargo build --release --locked
bin=target/release/fleetdeck

if (( $# > 0 )); then
  exec "$bin" "$@"
fi
config_home=${XDG_CONFIG_HOME:-$HOME/.config}
if [[ -f $config_home/fleetdeck/config.toml || -n ${DOCKER_HOST:-} || -S /var/run/docker.sock ]]; then
  exec "$bin"
fi
echo "No Docker configured here: starting the fleetdeck lab (4 local daemons)..." >&2
bash scripts/lab.sh ensure
exec "$bin" --config /run/fleetdeck-lab/fleetdeck.toml
