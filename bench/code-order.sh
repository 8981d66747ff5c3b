#!/usr/bin/env bash
# bench/code-order.sh — regenerate build/hot-code.txt, the functions a dashboard session runs.
#
# Why: the kernel maps a binary's code into a process in blocks (64 KB by default) around
# each page the process first touches ("fault-around"). fleetdeck's release build has about
# 12 MB of code, of which a dashboard session runs about 2.7 MB, spread everywhere: 8 MB of
# it ended up resident. build.rs hands this list to the linker (lld's
# --symbol-ordering-file), which places those functions together, so the blocks mapped are
# mostly code that runs (BENCHMARKS.md, "Build settings and resident code").
#
# How: the release binary runs under valgrind's callgrind (which records every function
# executed) in a 200x50 tmux pane against the lab, twice:
#   1. containers view at 1 s stats on lab1, then every view in turn (keys 1 3 4 6 7 5 2);
#   2. the wall display (--wall) on every lab endpoint of the lab's config, 1 s stats.
# The names (mangled, as the linker sees them) of both runs are written sorted, so a rerun's
# diff shows only the functions that came or went; any order inside the group does.
#
# When: after changes that add or rename much code on the dashboard's paths, or after a
# toolchain or dependency update (symbol hashes change with them). A stale list is harmless:
# names the build no longer has are skipped, and only the memory saving shrinks.
#
# Needs: the lab up (scripts/lab.sh up), valgrind and tmux (apt-get install valgrind tmux),
# and a release build (cargo build --release). Takes about 5 minutes. Rebuild afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/fleetdeck}
LAB_CONFIG=/run/fleetdeck-lab/fleetdeck.toml
OUT=build/hot-code.txt
for tool in valgrind tmux; do
  command -v "$tool" >/dev/null || { echo "code-order: $tool is needed (apt-get install $tool)" >&2; exit 2; }
done
[[ -x $BIN ]] || { echo "code-order: no $BIN; run cargo build --release first" >&2; exit 2; }
[[ -r $LAB_CONFIG ]] || { echo "code-order: the lab is not up (scripts/lab.sh up)" >&2; exit 2; }
work=$(mktemp -d)
sock="code-order-$$"
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

lab1=$(awk '/^\[\[endpoint\]\]/{p=0} /name = "lab1"/{p=1} p && /^url/{print $3; exit}' "$LAB_CONFIG" | tr -d '"')
cat >"$work/one.toml" <<EOF
[[endpoint]]
name = "lab1"
url = "$lab1"

[stats]
interval_s = 1
EOF
# The lab's own config (its endpoints only) with 1 s stats and a quick rotation.
{ cat "$LAB_CONFIG"; printf '\n[stats]\ninterval_s = 1\n\n[wall]\nrotate_s = 3\n'; } >"$work/wall.toml"

# run NAME SECONDS KEYS ARGS...: the binary under callgrind in a tmux pane for SECONDS, then
# each of KEYS (8 s apart), then q.
run() {
  local name=$1 secs=$2 keys=$3
  shift 3
  tmux -L "$sock" new-session -d -x 200 -y 50 -s "$name" \
    "XDG_STATE_HOME=$work valgrind --tool=callgrind --callgrind-out-file=$work/$name.cg --demangle=no --compress-strings=no --compress-pos=no $BIN $* 2>$work/$name.err"
  sleep "$secs"
  for k in $keys; do tmux -L "$sock" send-keys -t "$name" "$k"; sleep 8; done
  tmux -L "$sock" send-keys -t "$name" q
  for _ in $(seq 60); do [[ -s $work/$name.cg ]] && ! tmux -L "$sock" has-session -t "$name" 2>/dev/null && break; sleep 1; done
  [[ -s $work/$name.cg ]] || { echo "code-order: the $name run left no profile:" >&2; cat "$work/$name.err" >&2; exit 1; }
}
echo "code-order: containers view and every view (about 2 minutes)"
run views 60 "1 3 4 6 7 5 2" --config "$work/one.toml" --view containers
echo "code-order: wall display on the lab (about 2.5 minutes)"
run wall 150 "" --config "$work/wall.toml" --wall

exe=$(readlink -f "$BIN")
python3 - "$exe" "$work/views.cg" "$work/wall.cg" >"$OUT.new" <<'PY'
import re, sys
exe, files = sys.argv[1], sys.argv[2:]
seen = {}
for f in files:
    ob = None
    for line in open(f, errors="replace"):
        if line.startswith("ob="):
            ob = line[3:].strip()
        elif line.startswith("fn=") and ob == exe:
            name = re.sub(r"'\d+$", "", line[3:].strip())
            if name.startswith("_"):
                seen.setdefault(name, None)
print("\n".join(sorted(seen)))
PY
mv "$OUT.new" "$OUT"
echo "code-order: $(wc -l <"$OUT") functions in $OUT; rebuild (cargo build --release) to use it"
