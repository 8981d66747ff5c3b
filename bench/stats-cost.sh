#!/usr/bin/env bash
# bench/stats-cost.sh — what does collecting container stats cost the Docker daemon?
#
# fleetdeck must sample CPU/memory/net for every container on many daemons. The
# Engine API offers two ways (plus a slow variant), and we want to pick on evidence:
#
#   stream        one long-lived GET /containers/ID/stats per container; the
#                 daemon pushes one sample per pass of its shared stats
#                 collector, which sleeps 1 s between passes (so samples come
#                 every 1 s + pass time: ~1.15 s with 50 containers here) —
#                 done here with N concurrent curl processes,
#   stream-py     the same streams, read by ONE Python process (threads), which
#                 is closer to what fleetdeck itself would do: client cost
#                 without 50 curl processes,
#   poll-oneshot  every I s, GET ...stats?stream=false&one-shot=true for every
#                 container, at most P requests in flight (keep-alive
#                 connections, one per worker, like a pooled HTTP client).
#                 NB on 20.10 one-shot only skips the "priming" sample: the
#                 request still subscribes to the shared collector and is
#                 answered on its next tick (0-1 s later; ~instant only when
#                 the collector was idle). precpu_stats comes back empty.
#   poll-stream-false
#                 the same with stream=false only: the daemon subscribes the
#                 container to its collector and answers after the 2nd tick
#                 (so it can fill precpu_stats) — 1-2 s per request,
#   baseline      nothing but the idle containers (the lab's healthchecks and
#                 lab3's crashloop container keep the daemon a bit busy).
#
# For each, over D seconds, it reads utime+stime (clock ticks) from
# /proc/PID/stat before and after for lab3's dockerd, its containerd (a child
# of that dockerd) and the shims of the bench containers (containerd-shim-runc-v2
# re-parents itself to PID 1, so they are found by their -address and -id), plus
# the client's own CPU, and prints one table row per method and run.
#
# Only lab3 is used: lab1/lab2/lab4 belong to other tests (lab4 is killed and
# restarted by them). No lab daemon is stopped or restarted. Every container this
# script creates carries the label fleetdeck.bench=1 and is removed by that label
# at the end, also on Ctrl-C / TERM / error.
#
# Knobs (environment):
#   BENCH_N=50          idle containers to start
#   BENCH_D=30          seconds per measurement
#   BENCH_INTERVALS="1" poll interval(s) in seconds for the poll methods, e.g. "1 2"
#   BENCH_P=8           concurrent requests for the poll methods; a list ("8 50")
#                       runs each poll method once per value. Why 50 too: on
#                       20.10 even one-shot requests wait for the daemon's
#                       1-second stats collector tick, so P in flight give at
#                       most ~P samples a second; only P >= N keeps 1/s for N.
#   BENCH_RUNS=2        repetitions of the whole method list (even runs go in
#                       reverse order, so a slow drift in background load does
#                       not always hit the same method)
#   BENCH_METHODS="baseline stream stream-py poll-oneshot poll-stream-false"
#   BENCH_SETTLE=5      seconds of quiet between measurements (in-flight
#                       stream=false requests and stream tear-downs finish)
#   BENCH_LAB=3         lab daemon index (keep 3 unless you own the lab)
#
# Usage (as root: docker socket, other users' /proc; the lab must be up):
#   bench/stats-cost.sh
#   BENCH_INTERVALS="1 2" BENCH_P="8 50" bench/stats-cost.sh   # full matrix, ~15 min
set -euo pipefail

export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
# C locale: $EPOCHREALTIME and awk/printf must use a decimal point.
export LC_ALL=C
# Talk to exactly the daemon we name with -H, whatever the caller's env says.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_TLS DOCKER_API_VERSION

N=${BENCH_N:-50}
D=${BENCH_D:-30}
INTERVALS=${BENCH_INTERVALS:-1}
PS=${BENCH_P:-8}
RUNS=${BENCH_RUNS:-2}
METHODS=${BENCH_METHODS:-baseline stream stream-py poll-oneshot poll-stream-false}
SETTLE=${BENCH_SETTLE:-5}
LAB=${BENCH_LAB:-3}

SOCK=/run/fleetdeck-lab/lab$LAB/docker.sock
PIDFILE=/run/fleetdeck-lab/lab$LAB/dockerd.pid
SHIM_ADDR=/run/fdl/$LAB/containerd/containerd.sock   # the shims' -address (lab.sh: exec root /run/fdl/I)
API=v1.41                                            # Debian docker.io 20.10
IMAGE=busybox:local
LABEL=fleetdeck.bench=1
# Same idiom as the lab's seed containers: trapping TERM makes `docker rm -f` /
# stop instant instead of a 10 s wait for a PID 1 that ignores SIGTERM.
CMD='trap "exit 0" TERM; sleep 100000 & wait'

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: ERROR: %s\n' "$*" >&2; exit 1; }
dk()  { docker -H "unix://$SOCK" "$@"; }

[[ $N =~ ^[1-9][0-9]*$ && $D =~ ^[1-9][0-9]*$ && $RUNS =~ ^[1-9][0-9]*$ ]] \
  || die "BENCH_N, BENCH_D, BENCH_RUNS must be positive integers"
for p in $PS; do [[ $p =~ ^[1-9][0-9]*$ ]] || die "BENCH_P must be positive integers, got '$p'"; done
[[ -S $SOCK ]] || die "no socket $SOCK (is the lab up? scripts/lab.sh ensure)"
for t in docker curl python3 awk ps; do command -v "$t" >/dev/null || die "needs $t"; done
# The real interpreter, not a pyenv shim script: its start-up would be noise.
PY=$(python3 -c 'import sys; print(sys.executable)')
TCK=$(getconf CLK_TCK)

TMP=$(mktemp -d /tmp/stats-cost.XXXXXX)
BG_PIDS=()   # client processes we started, so an interrupted run can end them by pid

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -S $SOCK ]]; then
    local ids
    ids=$(dk ps -aq --filter "label=$LABEL" 2>/dev/null || true)
    if [[ -n $ids ]]; then
      log "removing $(wc -w <<<"$ids") bench containers (label $LABEL)"
      # rm -f in a few parallel batches: 50 one-by-one removals take a while.
      xargs -r -n 10 -P 4 docker -H "unix://$SOCK" rm -f <<<"$ids" >/dev/null 2>&1 || true
    fi
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- /proc ------

# utime+stime of one process in clock ticks (0 if it is gone). The comm field
# may contain spaces, so cut after the last ") ": what follows starts at field 3
# (state), making utime/stime (fields 14/15) positional parameters 12/13.
ticks() {
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${12} + ${13} ))
}
sum_ticks() { local t=0 p; for p in "$@"; do t=$(( t + $(ticks "$p") )); done; echo "$t"; }
# Busy ticks of the whole machine (all CPUs): shows how much else was running.
host_busy() { awk '/^cpu /{ print $2+$3+$4+$7+$8+$9 }' /proc/stat; }

DOCKERD=$(<"$PIDFILE")
[[ -r /proc/$DOCKERD/stat ]] || die "dockerd pid $DOCKERD (from $PIDFILE) is not running"
CONTAINERD=$(ps --ppid "$DOCKERD" -o pid=,comm= | awk '$2 == "containerd" { print $1; exit }')
[[ -n $CONTAINERD ]] || die "no containerd child of dockerd $DOCKERD"

# snapshot: dockerd containerd shims host — all in ticks.
snapshot() {
  echo "$(ticks "$DOCKERD") $(ticks "$CONTAINERD") $(sum_ticks "${SHIMS[@]}") $(host_busy)"
}

# ------------------------------------------------------------ python client --

# One small Python client for the poll methods and stream-py: http.client over
# a unix socket with persistent connections, so the client cost we measure is
# the requests and JSON parsing, not process start-ups (a curl per request would
# dominate the client column and hide everything else). Client CPU is os.times()
# of the measuring loop only (after imports). It prints one JSON line.
cat >"$TMP/client.py" <<'PY'
import http.client, json, math, os, queue, socket, sys, threading, time

class UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s

def pct(xs, p):                     # nearest-rank percentile
    if not xs:
        return None
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]

def cpu():
    t = os.times()
    return t.user + t.system

def precpu_empty(d):
    pre = d.get("precpu_stats") or {}
    return (pre.get("cpu_usage") or {}).get("total_usage", 0) == 0 \
        and not pre.get("system_cpu_usage") \
        and str(d.get("preread", "")).startswith("0001-")

def poll(sock, api, ids, duration, interval, conc, query):
    q = queue.Queue()
    lock = threading.Lock()
    st = dict(requests=0, ok=0, errors=0, precpu_empty=0, no_system_cpu=0, skipped=0)
    lat = []
    deadline = [0.0]

    def worker():
        conn = UnixConn(sock)
        while True:
            cid = q.get()
            if cid is None:
                q.task_done()
                return
            if time.monotonic() >= deadline[0]:
                # window over: drain the rest of an overrunning round unsent
                with lock:
                    st["skipped"] += 1
                q.task_done()
                continue
            t = time.monotonic()
            ok = empty = nosys = False
            try:
                conn.request("GET", f"/{api}/containers/{cid}/stats?{query}")
                r = conn.getresponse()
                body = r.read()
                if r.status == 200:
                    d = json.loads(body)
                    ok = True
                    empty = precpu_empty(d)
                    nosys = not (d.get("cpu_stats") or {}).get("system_cpu_usage")
            except Exception:
                conn.close()
                conn = UnixConn(sock)
            dt = time.monotonic() - t
            with lock:
                st["requests"] += 1
                if ok:
                    st["ok"] += 1
                    lat.append(dt)
                    st["precpu_empty"] += empty
                    st["no_system_cpu"] += nosys
                else:
                    st["errors"] += 1
            q.task_done()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(conc)]
    for th in threads:
        th.start()
    c0, t0 = cpu(), time.monotonic()
    deadline[0] = t0 + duration
    rounds = late = 0
    nxt = t0
    while True:
        now = time.monotonic()
        if now >= deadline[0]:
            break
        if now < nxt:
            time.sleep(min(nxt, deadline[0]) - now)
            continue
        rounds += 1
        for cid in ids:
            q.put(cid)
        q.join()
        nxt += interval
        if time.monotonic() > nxt:
            # Overran the interval: start the next round at once, but do not
            # pile up missed ticks (a real poller would not either).
            late += 1
            nxt = time.monotonic()
    for _ in threads:
        q.put(None)
    for th in threads:
        th.join()
    st.update(rounds=rounds, late_rounds=late, samples=st["ok"],
              client_cpu=cpu() - c0, wall=time.monotonic() - t0,
              lat_med=pct(lat, 50), lat_p95=pct(lat, 95))
    return st

def stream(sock, api, ids, duration):
    counts = [0] * len(ids)
    conns = []
    errors = [0]
    def reader(i, cid):
        c = UnixConn(sock, timeout=None)
        conns.append(c)
        try:
            c.request("GET", f"/{api}/containers/{cid}/stats")   # stream=true is the default
            r = c.getresponse()
            while True:
                line = r.readline()                            # one JSON document per line
                if not line:
                    break
                json.loads(line)
                counts[i] += 1
        except Exception:
            if not stop.is_set():
                errors[0] += 1
    stop = threading.Event()
    c0, t0 = cpu(), time.monotonic()
    ths = [threading.Thread(target=reader, args=(i, cid), daemon=True) for i, cid in enumerate(ids)]
    for th in ths:
        th.start()
    time.sleep(duration)
    stop.set()
    n = sum(counts)
    for c in conns:
        try:
            c.sock.shutdown(socket.SHUT_RDWR)
        except Exception:
            pass
    for th in ths:
        th.join(2)
    return dict(requests=len(ids), ok=len(ids) - errors[0], errors=errors[0], samples=n,
                client_cpu=cpu() - c0, wall=time.monotonic() - t0, lat_med=None, lat_p95=None)

if __name__ == "__main__":
    mode, sock, api, idfile, duration = sys.argv[1:6]
    ids = [l.strip() for l in open(idfile) if l.strip()]
    if mode == "stream":
        out = stream(sock, api, ids, float(duration))
    else:
        interval, conc, query = float(sys.argv[6]), int(sys.argv[7]), sys.argv[8]
        out = poll(sock, api, ids, float(duration), interval, conc, query)
    print(json.dumps(out))
PY

# ------------------------------------------------------------- containers ---

stale=$(dk ps -aq --filter "label=$LABEL")
if [[ -n $stale ]]; then
  log "removing $(wc -w <<<"$stale") leftover bench containers from an earlier run"
  xargs -r -n 10 -P 4 docker -H "unix://$SOCK" rm -f <<<"$stale" >/dev/null
fi

log "starting $N idle containers on lab$LAB ($IMAGE)"
# A few at a time: sequential `docker run` for 50 containers takes ~half a minute.
seq "$N" | xargs -P 4 -I{} docker -H "unix://$SOCK" run -d --label "$LABEL" "$IMAGE" sh -c "$CMD" >/dev/null
dk ps -q --no-trunc --filter "label=$LABEL" --filter status=running >"$TMP/ids"
mapfile -t IDS <"$TMP/ids"
(( ${#IDS[@]} == N )) || die "expected $N running bench containers, got ${#IDS[@]}"

# The bench containers' shims: containerd-shim-runc-v2 ... -id ID -address SHIM_ADDR.
mapfile -t SHIMS < <(ps -eo pid=,args= | awk -v addr="$SHIM_ADDR" -v idf="$TMP/ids" '
  BEGIN { while ((getline l < idf) > 0) want[l] = 1 }
  $2 ~ /containerd-shim-runc-v2$/ {
    id = ""; a = ""
    for (i = 3; i < NF; i++) { if ($i == "-id") id = $(i+1); if ($i == "-address") a = $(i+1) }
    if (a == addr && (id in want)) print $1
  }')
(( ${#SHIMS[@]} == N )) || die "expected $N shims for the bench containers, found ${#SHIMS[@]}"
log "dockerd $DOCKERD, containerd $CONTAINERD, ${#SHIMS[@]} shims; settling 10 s after the start-up burst"
sleep 10

# Sanity check the API behaviour we rely on (printed once, also in the report).
"$PY" - "$SOCK" "$API" "${IDS[0]}" <<'PY' >&2
import json, socket, sys, http.client
sock, api, cid = sys.argv[1:4]
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.connect(sock)
for q in ("stream=false&one-shot=true", "stream=false"):
    c = C("localhost"); c.request("GET", f"/{api}/containers/{cid}/stats?{q}"); r = c.getresponse()
    d = json.loads(r.read())
    pre = d["precpu_stats"]
    print(f"bench: check {q:28s} HTTP {r.status} preread={d['preread']} "
          f"precpu.total_usage={pre['cpu_usage'].get('total_usage')} "
          f"precpu.system_cpu_usage={pre.get('system_cpu_usage')} "
          f"cpu.system_cpu_usage={d['cpu_stats'].get('system_cpu_usage')} online_cpus={d['cpu_stats'].get('online_cpus')}")
PY

# ---------------------------------------------------------------- methods ---

RESULTS=$TMP/results.tsv
: >"$RESULTS"

# record RUN METHOD INTERVAL T0 SNAP0 SNAP1 CLIENT_S REQUESTS SAMPLES LAT_MED LAT_P95 NOTE
record() {
  local run=$1 method=$2 iv=$3 t0=$4 s0=$5 s1=$6 client=$7 req=$8 samples=$9 med=${10} p95=${11} note=${12}
  awk -v run="$run" -v m="$method" -v iv="$iv" -v t0="$t0" -v t1="$EPOCHREALTIME" \
      -v s0="$s0" -v s1="$s1" -v tck="$TCK" -v cl="$client" -v req="$req" -v smp="$samples" \
      -v med="$med" -v p95="$p95" -v note="$note" 'BEGIN {
    split(s0, a, " "); split(s1, b, " ")
    printf "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\n", run, m, iv, t1 - t0,
      (b[1]-a[1])/tck, (b[2]-a[2])/tck, (b[3]-a[3])/tck, (b[4]-a[4])/tck, cl, req, smp, med, p95, note
  }' >>"$RESULTS"
}

m_baseline() {
  local t0 s0; t0=$EPOCHREALTIME; s0=$(snapshot)
  sleep "$D"
  record "$1" baseline - "$t0" "$s0" "$(snapshot)" 0 0 0 - - ""
}

m_stream() {
  # -N: curl buffers its output otherwise, and a killed curl loses what it held,
  # so the sample count (newline-terminated JSON documents) would be short.
  local t0 s0 pids=() id p client=0
  t0=$EPOCHREALTIME; s0=$(snapshot)
  for id in "${IDS[@]}"; do
    curl -sN --unix-socket "$SOCK" "http://localhost/$API/containers/$id/stats" >"$TMP/stream.$id" &
    pids+=("$!"); BG_PIDS+=("$!")
  done
  sleep "$D"
  # Client CPU: read each curl's utime+stime just before killing it (SIGTERM
  # means `times`/rusage of waited children is not available to us).
  client=$(sum_ticks "${pids[@]}")
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  BG_PIDS=()
  local samples; samples=$(cat "$TMP"/stream.* | wc -l)
  rm -f "$TMP"/stream.*
  record "$1" stream - "$t0" "$s0" "$(snapshot)" "$(awk -v t="$client" -v k="$TCK" 'BEGIN{printf "%.2f", t/k}')" \
    "$N" "$samples" - - "${N} curl procs"
}

# py_run RUN METHOD INTERVAL ARGS... — run the Python client, record its JSON.
py_run() {
  local run=$1 method=$2 iv=$3; shift 3
  local t0 s0 out; t0=$EPOCHREALTIME; s0=$(snapshot)
  "$PY" "$TMP/client.py" "$@" >"$TMP/out.json" &
  BG_PIDS=("$!"); wait "$!"; BG_PIDS=()
  local s1; s1=$(snapshot)
  out=$(<"$TMP/out.json")
  # shellcheck disable=SC2046
  set -- $("$PY" -c '
import json, sys
d = json.loads(sys.argv[1])
f = lambda v: "-" if v is None else "%.0f" % (v * 1000)
note = []
if d.get("errors"): note.append("%d errors" % d["errors"])
if "precpu_empty" in d: note.append("precpu empty %d/%d" % (d["precpu_empty"], d["ok"]))
if d.get("no_system_cpu"): note.append("no system_cpu_usage %d" % d["no_system_cpu"])
if "rounds" in d: note.append("rounds %d late %d" % (d["rounds"], d["late_rounds"]))
if d.get("skipped"): note.append("%d not sent (window over)" % d["skipped"])
print("%.2f" % d["client_cpu"], d["requests"], d["samples"], f(d["lat_med"]), f(d["lat_p95"]), ", ".join(note).replace(" ", "~") or "-")
' "$out")
  record "$run" "$method" "$iv" "$t0" "$s0" "$s1" "$1" "$2" "$3" "$4" "$5" "${6//\~/ }"
}

m_stream_py()         { py_run "$1" stream-py - stream "$SOCK" "$API" "$TMP/ids" "$D"; }
# $2 interval, $3 concurrency; the table's iv/P column shows both, e.g. 1/P8.
m_poll_oneshot()      { py_run "$1" poll-oneshot "$2/P$3" poll "$SOCK" "$API" "$TMP/ids" "$D" "$2" "$3" 'stream=false&one-shot=true'; }
m_poll_stream_false() { py_run "$1" poll-stream-false "$2/P$3" poll "$SOCK" "$API" "$TMP/ids" "$D" "$2" "$3" 'stream=false'; }

# The work list: poll methods once per interval.
PLAN=()
for m in $METHODS; do
  case $m in
    baseline|stream|stream-py) PLAN+=("$m - -") ;;
    poll-oneshot|poll-stream-false)
      for p in $PS; do for iv in $INTERVALS; do PLAN+=("$m $iv $p"); done; done ;;
    *) die "unknown method '$m'" ;;
  esac
done

total=$(( ${#PLAN[@]} * RUNS ))
k=0
for (( run = 1; run <= RUNS; run++ )); do
  order=("${PLAN[@]}")
  if (( run % 2 == 0 )); then
    order=(); for (( i = ${#PLAN[@]} - 1; i >= 0; i-- )); do order+=("${PLAN[i]}"); done
  fi
  for item in "${order[@]}"; do
    read -r m iv p <<<"$item"
    k=$(( k + 1 ))
    log "[$k/$total] run $run: $m$( [[ $iv == - ]] || printf ' every %ss, %s in flight' "$iv" "$p") (D=${D}s, N=$N)"
    sleep "$SETTLE"
    "m_${m//-/_}" "$run" "$iv" "$p"
  done
done

# ----------------------------------------------------------------- report ---

# Derived columns:
#   daemon   = dockerd + containerd + bench shims, CPU seconds in the window
#   %core    = daemon / window × 100 (one core = 100 %)
#   net%     = %core minus the same run's baseline %core: the cost of the method
#   ms/smp   = net daemon CPU per sample delivered (ms): cost per unit of data
#   smp/c/s  = samples per container per second (D is the nominal window)
#   host%    = busy CPU of the whole machine / window (2 cores = 200 %): noise indicator
echo
printf '# lab%s, docker %s, N=%s containers, D=%ss, poll concurrency %s, CLK_TCK=%s, %s\n' \
  "$LAB" "$(dk version --format '{{.Server.Version}}' 2>/dev/null || echo '?')" "$N" "$D" "$PS" "$TCK" "$(date -u +%FT%TZ)"
awk -F'\t' -v n="$N" -v d="$D" '
  { row[NR] = $0; if ($2 == "baseline") base[$1] = ($5 + $6 + $7) / $4 * 100 }
  END {
    fmt = "%-3s %-17s %-6s %6s %7s %7s %6s %7s %6s %6s %7s %6s %6s %7s %7s %6s %6s %5s  %s\n"
    printf fmt, "run", "method", "iv/P", "win_s", "dockerd", "contnrd", "shims", "daemon", "%core", "net%", \
      "client", "reqs", "smpls", "smp/c/s", "ms/smp", "lat50", "lat95", "host%", "note"
    for (i = 1; i <= NR; i++) {
      split(row[i], f, "\t")
      dm = f[5] + f[6] + f[7]; pc = dm / f[4] * 100
      net = (f[1] in base) ? pc - base[f[1]] : 0
      mps = (f[11] > 0 && (f[1] in base)) ? sprintf("%.2f", net / 100 * f[4] / f[11] * 1000) : "-"
      printf fmt, f[1], f[2], f[3], f[4], sprintf("%.2f", f[5]), sprintf("%.2f", f[6]), sprintf("%.2f", f[7]), \
        sprintf("%.2f", dm), sprintf("%.1f", pc), (f[2] == "baseline" ? "-" : sprintf("%+.1f", net)), \
        f[9], f[10], f[11], sprintf("%.2f", f[11] / n / d), mps, f[12], f[13], sprintf("%.0f", f[8] / f[4] * 100), f[14]
    }
  }' "$RESULTS"
echo "# dockerd..daemon, client: CPU seconds in the window; %core, net%: of one core; lat50/lat95: ms per request;"
echo "# net% and ms/smp are relative to the same run's baseline row; host% > ~20 means other work was running."
