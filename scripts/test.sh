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

echo "== clippy"
cargo clippy --locked --all-targets -- -D warnings

echo "== tests"
# Unit, render and config tests, then the lab tests (one binary, one shared lab).
cargo test --locked --all-targets
