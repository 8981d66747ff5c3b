#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine with nothing but Rust installed:
# brings up the Docker lab (installing docker.io and friends with apt as needed),
# then runs formatting and lint checks and every test. Needs root (the lab runs
# several dockerd in network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== lab"
bash scripts/lab.sh up

echo "== fmt"
cargo fmt --all --check

# The suites that need this machine's parts (lab, influx, terminal) are `test = false` in
# Cargo.toml, so a plain `cargo test` passes without them; here they are named.
MACHINE_SUITES=(--test lab --test influx --test terminal)

echo "== clippy"
cargo clippy --locked --all-targets "${MACHINE_SUITES[@]}" -- -D warnings

echo "== tests"
# Unit, render, config, themes and CLI tests: what a plain `cargo test` runs.
cargo test --locked --all-targets
# Then the suites that need the lab (one binary, one shared lab), InfluxDB and tmux.
cargo test --locked "${MACHINE_SUITES[@]}"
