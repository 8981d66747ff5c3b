#!/usr/bin/env bash
# scripts/lab.sh — a local "fleet" of Docker daemons for fleetdeck's tests.
#
# Every daemon runs on this machine in its own network namespace, so each has
# its own docker0 / bridges (two daemons sharing a namespace clobber each
# other's bridges) and its own IP the tests can reach over plain TCP.
#
#   ensure        `up`, unless every daemon already answers (quick re-runs)
#   up            install what is missing, clean any leftovers, start
#                 $LAB_DAEMONS (default 4) daemons, build busybox:local, seed
#   seed [NAME..] (re)create the seed fixture (all daemons, or just NAME..)
#   down          kill everything, unmount, delete namespaces and data
#   status        one line per daemon: name, up/down, socket, tcp address
#   stop NAME     SIGKILL NAME's dockerd and containerd (a host that vanished)
#   start NAME    start NAME again on its existing data root, wait until it answers
#   env           print shell exports (FLEETDECK_LAB_CONFIG, LABn_SOCK, LABn_TCP, ...)
#   remote        add what `up` adds for remote transports to a running lab:
#                 sshd in every namespace, the TLS daemon lab6 (idempotent)
#   swarm         make sure lab5, a Swarm manager, and lab7, a worker of its swarm, are
#                 up (also done by `up`, idempotent: starts only what is not running);
#                 they are NOT in fleetdeck.toml: only the Swarm tests use them
#   extra FIRST COUNT
#                 start COUNT extra empty daemons labFIRST..labFIRST+COUNT-1 in
#                 parallel, with busybox:local (for bench/scale.sh; FIRST above the
#                 lab's daemons and lab7, the last one at most lab99); idempotent, NOT
#                 in fleetdeck.toml, not seeded; `down`/`up` remove them too
#   extra-down FIRST COUNT
#                 stop and delete those extra daemons (containers, data, namespace)
#
# Conventions (the tests rely on them), for daemon I in 1..N:
#   name labI, network namespace fdlabI,
#   veth fdlI-h (host, 10.203.I.1/24) <-> fdlI-n (in fdlabI, 10.203.I.2/24)
#   LAN parents fdlan0..fdlan3 (veths, peers fdlanNp) inside every fdlabI, up,
#              no address: parents of the macvlan networks tests make, the same
#              names on every daemon as hosts on one LAN would have. Docker
#              takes one macvlan network per parent, so each test uses its own.
#   data root  /var/lib/fleetdeck-lab/labI
#   run dir    /run/fleetdeck-lab/labI/{docker.sock,dockerd.pid,dockerd.log}
#   exec root  /run/fdl/I       (short: unix socket paths are limited to 108 bytes)
#   API        unix:///run/fleetdeck-lab/labI/docker.sock and tcp://10.203.I.2:2375
#   config     /run/fleetdeck-lab/fleetdeck.toml
#
# fleetdeck.toml: lab1 unix + lab2 tcp in cluster lab-a (both subnet
# 192.168.2.0/24), lab3 tcp in lab-b (192.168.3.0/24), lab4.. unix in "chaos"
# (192.168.I.0/24). lab4 is the one the tests kill and restart.
# Engine labels (docker info): lab=labI, subnet=<the fleetnet subnet above>,
# dc=us-east (lab1) / us-west (lab2) / eu (lab3) / lab (others); config labels
# say dc=lab everywhere. lab5's Swarm node has node labels dc=swarm-east, tier=edge.
# lab7 is a Swarm worker of lab5's swarm (hostname lab7, its own UTS namespace), node
# labels dc=swarm-west, tier=core; a veth fdsw7 (in fdlab5) <-> fdsw5 (in fdlab7) with
# host routes 10.203.5.2 <-> 10.203.7.2 carries Swarm's traffic between the two.
#
# Seed fixture (image busybox:local, every object labelled fleetdeck.lab=seed):
#   network fleetnet (lab1: ip-range .0/26 gw .14, lab2: .64/26 gw .65, both on
#   192.168.2.0/24; others 192.168.I.0/24, range .0/25, gw .1; aux .254);
#   web-1 (fleetnet, static .20 / lab2 .80), web-2 (fleetnet, dynamic),
#   db (-p 5432:5432), worker (healthy), flaky (unhealthy), batch (exited 3),
#   stopped-static (exited 0, static .30 / lab2 .90), crashloop (lab3 only,
#   --restart always, exits 1 every 2 s).
#
# Knobs: LAB_DAEMONS (count, default 4), LAB_READY_TIMEOUT (s, default 60),
#        LAB_STORAGE_DRIVER (force overlay2/vfs), LAB_LIVE_RESTORE (1/0, default 1).
set -euo pipefail

# dockerd finds containerd, runc and docker-proxy through PATH; tests may call
# us with a minimal PATH that lacks the sbin directories.
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}"
# C locale: $EPOCHREALTIME must use a decimal point for the timing arithmetic.
export LC_ALL=C
# The docker client must talk to exactly the daemon we name with -H, in plain
# HTTP, with API version negotiation: ignore whatever the caller's env says.
unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_TLS DOCKER_API_VERSION

LAB_DATA=/var/lib/fleetdeck-lab   # data roots; also keeps the cached image tar
LAB_RUN=/run/fleetdeck-lab        # sockets, pid files, logs, fleetdeck.toml
LAB_EXEC=/run/fdl                 # exec roots (kept short, see above)
LAB_CONFIG=$LAB_RUN/fleetdeck.toml
LAB_COUNT_FILE=$LAB_RUN/daemons   # how many daemons the last `up` started
LAB_LOCK=/run/fleetdeck-lab.lock  # outside $LAB_RUN so `down` can delete that
LAB_SSH=$LAB_RUN/ssh              # client key, known_hosts, ssh_config (see ensure_remote)
LAB_TLS=$LAB_RUN/tls              # CA, server and client certificates of the TLS daemon
SSH_PORT=2222                     # sshd in each daemon's namespace: a non-default port on purpose
TLS_LAB=6                         # lab6: --tlsverify only (lab5 belongs to the swarm tests)
IMAGE=busybox:local
IMAGE_TAR=$LAB_DATA/busybox-rootfs.tar
SEED_LABEL=fleetdeck.lab=seed
SEED_NAMES=(web-1 web-2 db worker flaky batch stopped-static crashloop)
READY_TIMEOUT=${LAB_READY_TIMEOUT:-60}
declare -A LAUNCHED=()            # lab index -> $SECONDS when launch_daemon ran
LIVE_RESTORE=${LAB_LIVE_RESTORE:-1}
# Long-running seed containers: `sleep` as PID 1 ignores SIGTERM, so a plain
# `sh -c 'sleep 1000000'` takes 10 s to stop and exits 137. Trapping TERM makes
# `docker stop` instant and gives a clean exit code 0.
LONG_CMD='trap "exit 0" TERM INT; sleep 1000000 & wait'
# db answers on its published port so tests can check publishing end to end.
DB_CMD='trap "exit 0" TERM INT; while true; do echo fleetdeck-lab-db | nc -l -p 5432; done & wait'

# ---------------------------------------------------------------- helpers --

log()  { printf 'lab: %s\n' "$*" >&2; }
die()  { printf 'lab: ERROR: %s\n' "$*" >&2; exit 1; }
now()  { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

data_root() { printf '%s/lab%s' "$LAB_DATA" "$1"; }
run_dir()   { printf '%s/lab%s' "$LAB_RUN" "$1"; }
exec_root() { printf '%s/%s' "$LAB_EXEC" "$1"; }
sock()      { printf '%s/lab%s/docker.sock' "$LAB_RUN" "$1"; }
netns()     { printf 'fdlab%s' "$1"; }
tcp_url()   { printf 'tcp://10.203.%s.2:2375' "$1"; }
tls_url()   { printf 'tcp://10.203.%s.2:2376' "$TLS_LAB"; }
dk()        { local i=$1; shift; docker -H "unix://$(sock "$i")" "$@"; }

# "lab4" -> 4; refuses anything else.
parse_name() {
  [[ ${1:-} =~ ^lab([1-9][0-9]*)$ ]] || die "expected a daemon name like lab1, got '${1:-}'"
  printf '%s' "${BASH_REMATCH[1]}"
}

# Count for `up`: LAB_DAEMONS or 4. For every other command: LAB_DAEMONS if set,
# else what the last `up` recorded, else 4.
lab_count() {
  local n=${LAB_DAEMONS:-}
  if [[ -z $n && ${1:-} != fresh && -s $LAB_COUNT_FILE ]]; then n=$(<"$LAB_COUNT_FILE"); fi
  n=${n:-4}
  [[ $n =~ ^[1-9][0-9]?$ ]] || die "LAB_DAEMONS must be 1..99, got '$n'"
  printf '%s' "$n"
}

# Mutating commands serialise on one lock: tests may call start/stop while
# another process runs seed. fd 9 is closed again before dockerd is exec'd.
take_lock() {
  exec 9>"$LAB_LOCK"
  flock -w 600 9 || die "could not get $LAB_LOCK within 600 s"
}

# A process is alive if it exists and is not a zombie. PID 1 on this machine
# reaps orphans only lazily, so a SIGKILLed dockerd lingers as a zombie for a
# while and `kill -0` would still call it alive.
pid_alive() {
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  s=${s##*) }
  [[ ${s%% *} != Z ]]
}

comm_of() { local c; { read -r c <"/proc/$1/comm"; } 2>/dev/null && printf '%s' "$c"; }

# Wait until none of the given pids is alive (deadline $1 seconds).
wait_gone() {
  local deadline=$(( SECONDS + $1 )) p left; shift
  while :; do
    left=0
    for p in "$@"; do pid_alive "$p" && left=1 && break; done
    (( left )) || return 0
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

# The daemon-side processes the lab owns are recognised by name AND by what
# they run on: a command-line argument under one of the lab's directories
# (dockerd: --data-root, containerd: --config, shims: -address), or by living
# in a lab namespace (docker-proxy). Restricting to these names means a user's
# `tail -f dockerd.log` or `nsenter` shell is never killed.
is_lab_comm() { [[ $1 == dockerd || $1 == containerd || $1 == containerd-shim* || $1 == docker-proxy || $1 == runc || $1 == nsenter || $1 == sshd ]]; }

# Print "INDEX PID COMM" for every lab daemon-side process found by command line.
scan_lab_processes() {
  local p pid arg c re="^(.*[=/])?(${LAB_DATA}/lab|${LAB_RUN}/lab|${LAB_EXEC}/)([0-9]+)(/.*)?$"
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    c=$(comm_of "$pid") || continue
    is_lab_comm "$c" || continue
    while IFS= read -r -d '' arg; do
      if [[ $arg =~ $re ]]; then printf '%s %s %s\n' "${BASH_REMATCH[3]}" "$pid" "$c"; break; fi
    done 2>/dev/null <"$p/cmdline" || true
  done
}

# Pids of lab processes of daemon $1 whose name is one of $2.. (e.g. dockerd).
daemon_pids() {
  local i=$1; shift
  local idx pid c want
  while read -r idx pid c; do
    [[ $idx == "$i" ]] || continue
    for want in "$@"; do [[ $c == "$want" ]] && printf '%s\n' "$pid"; done
  done < <(scan_lab_processes)
  # The pid file catches a dockerd whose command line we failed to read.
  local pf; pf="$(run_dir "$i")/dockerd.pid"
  if [[ " $* " == *" dockerd "* && -s $pf ]]; then
    pid=$(<"$pf")
    if pid_alive "$pid" && [[ $(comm_of "$pid") == dockerd ]]; then printf '%s\n' "$pid"; fi
  fi
}

# Container processes: everything in the cgroups under --cgroup-parent fdlabI.
# (With cgroupfs and a relative parent, runc puts them below its own cgroup in
# each hierarchy, e.g. memory/<our cgroup>/fdlab1/<id>, so search for the name.)
cgroup_dirs() { find /sys/fs/cgroup -maxdepth 8 -type d -name "$(netns "$1")" 2>/dev/null || true; }
cgroup_pids() {
  local d
  for d in $(cgroup_dirs "$1"); do
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done | sort -un
}

# Every lab index that has any trace on this machine, plus 1..count.
known_indexes() {
  {
    seq 1 "$(lab_count)"
    local d
    for d in "$LAB_DATA"/lab[0-9]* "$LAB_RUN"/lab[0-9]*; do [[ -e $d ]] && printf '%s\n' "${d##*/lab}"; done
    for d in "$LAB_EXEC"/[0-9]*; do [[ -e $d ]] && printf '%s\n' "${d##*/}"; done
    ip netns list 2>/dev/null | sed -nE 's/^fdlab([0-9]+)( .*)?$/\1/p'
    ip -o link show 2>/dev/null | sed -nE 's/^[0-9]+: fdl([0-9]+)-h[@:].*/\1/p'
    scan_lab_processes | cut -d' ' -f1
  } | grep -E '^[0-9]+$' | sort -nu
}

# Mount points at or below the given directories, deepest first.
# One awk pass: with a thousand containers there are thousands of mounts and a hundred roots.
mounts_under() {
  awk 'BEGIN { for (k = 1; k < ARGC; k++) root[k] = ARGV[k]; n = ARGC - 1; ARGC = 1 }
    { m = $5; for (k = 1; k <= n; k++) if (m == root[k] || index(m, root[k] "/") == 1) { print length(m), m; break } }
  ' "$@" </proc/self/mountinfo | sort -rn | cut -d' ' -f2- | uniq
}

# ------------------------------------------------------------ dependencies --

deps_present() {
  local c
  # victoria-metrics: tests/influx.rs starts its own on a free port (InfluxDB v2 write API).
  for c in dockerd containerd runc docker-proxy docker ip nsenter iptables tmux socat setsid flock victoria-metrics ssh ssh-keygen openssl; do
    command -v "$c" >/dev/null 2>&1 || return 1
  done
  # The image needs the *static* busybox: the dynamic one won't run in an
  # image that has no libc.
  [[ -x /usr/sbin/sshd ]] || return 1
  [[ $(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null) == installed && -x /bin/busybox ]]
}

ensure_deps() {
  deps_present && return 0
  log "installing docker.io, busybox-static, iproute2, iptables, util-linux, tmux, socat, victoria-metrics, openssh, openssl"
  # Debian's docker.io/containerd (and victoria-metrics) want to start their
  # system services from postinst. We only run our own daemons: deny service
  # starts during the install with a policy-rc.d (only if there isn't one), and
  # kill any dockerd/containerd/victoria-metrics that appears anyway (the
  # kernel's comm is 15 characters: "victoria-metric").
  local policy=/usr/sbin/policy-rc.d made_policy=0 before after p
  before=$(pgrep -x 'dockerd|containerd|victoria-metric|sshd' | sort || true)
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# temporary, from fleetdeck scripts/lab.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"; made_policy=1
  fi
  local rc=0
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      docker.io busybox-static iproute2 iptables util-linux tmux socat victoria-metrics \
      openssh-server openssh-client openssl; } >&2 || rc=$?
  (( made_policy )) && rm -f "$policy"
  (( rc == 0 )) || die "apt-get install failed (rc=$rc)"
  after=$(pgrep -x 'dockerd|containerd|victoria-metric|sshd' | sort || true)
  for p in $(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after")); do
    log "stopping system $(comm_of "$p") (pid $p) started by the package install"
    kill "$p" 2>/dev/null || true
  done
  deps_present || die "dependencies still missing after apt-get install"
}

# dockerd 20.10 uses /run/containerd/containerd.sock *instead of* starting its
# own containerd whenever that file exists: all lab daemons would then share
# one containerd (and one "moby" namespace). Refuse a live one, drop a stale one.
guard_system_containerd() {
  local s=/run/containerd/containerd.sock
  [[ -e $s ]] || return 0
  if socat -u OPEN:/dev/null "UNIX-CONNECT:$s" 2>/dev/null; then
    die "a system containerd is listening on $s; dockerd 20.10 would attach every lab daemon to it. Stop it first."
  fi
  log "removing stale $s (nothing listens on it)"
  rm -f "$s"
}

# ------------------------------------------------------------ storage driver --

# overlay2 unless this filesystem can't do overlay mounts; then vfs (slow, big,
# but works everywhere). A daemon restarted with `start` must keep the driver
# its data root was made with.
storage_driver() {
  local i=${1:-} root
  [[ -n ${LAB_STORAGE_DRIVER:-} ]] && { printf '%s' "$LAB_STORAGE_DRIVER"; return; }
  if [[ -n $i ]]; then
    root=$(data_root "$i")
    [[ -d $root/overlay2 ]] && { printf overlay2; return; }
    [[ -d $root/vfs ]] && { printf vfs; return; }
  fi
  local t; mkdir -p "$LAB_DATA"; t=$(mktemp -d "$LAB_DATA/.overlay-probe.XXXXXX")
  mkdir "$t"/{l,u,w,m}; echo ok >"$t/l/f"
  if mount -t overlay overlay -o "lowerdir=$t/l,upperdir=$t/u,workdir=$t/w" "$t/m" 2>/dev/null; then
    [[ -f $t/m/f ]] && printf overlay2 || printf vfs
    umount "$t/m"
  else
    log "overlay mounts don't work on $LAB_DATA: falling back to --storage-driver vfs"
    printf vfs
  fi
  rm -rf "$t"
}

# ----------------------------------------------------------------- network --

ensure_netns() {
  local i=$1 ns h=fdl$1-h n=fdl$1-n
  ns=$(netns "$i")
  [[ -e /run/netns/$ns ]] || ip netns add "$ns"
  if ! ip link show "$h" >/dev/null 2>&1; then
    ip link add "$h" type veth peer name "$n" netns "$ns"
  fi
  ip addr replace "10.203.$i.1/24" dev "$h"
  ip link set "$h" up
  ip -n "$ns" addr replace "10.203.$i.2/24" dev "$n"
  ip -n "$ns" link set "$n" up
  ip -n "$ns" link set lo up
  ensure_lan_parents "$i"
}

# Parent interfaces for macvlan networks in daemon $1's namespace: veth pairs with
# both ends inside (the kernel may lack the dummy, vlan and ipvlan drivers).
LAN_PARENTS=(fdlan0 fdlan1 fdlan2 fdlan3)
ensure_lan_parents() {
  local ns p; ns=$(netns "$1")
  for p in "${LAN_PARENTS[@]}"; do
    if ! ip -n "$ns" link show "$p" >/dev/null 2>&1; then
      ip -n "$ns" link add "$p" type veth peer name "${p}p"
    fi
    ip -n "$ns" link set "$p" up
    ip -n "$ns" link set "${p}p" up
  done
}

# ---------------------------------------------------------------- daemons --

dockerd_args() {
  local i=$1 driver=$2 rd
  rd=$(run_dir "$i")
  DOCKERD_ARGS=(
    --data-root "$(data_root "$i")"
    --exec-root "$(exec_root "$i")"
    -H "unix://$(sock "$i")"
  )
  if (( i == TLS_LAB )); then
    # The TLS daemon: mutual TLS only, with the lab's certificates (make_tls).
    DOCKERD_ARGS+=(-H "$(tls_url)" --tlsverify --tlscacert "$LAB_TLS/ca.pem"
      --tlscert "$LAB_TLS/server-cert.pem" --tlskey "$LAB_TLS/server-key.pem")
  else
    # Plain TCP on a lab-only address. Saying --tls=false explicitly avoids
    # 20.10's 15 s "unencrypted TCP is deprecated" startup delay.
    DOCKERD_ARGS+=(-H "$(tcp_url "$i")" --tls=false)
  fi
  DOCKERD_ARGS+=(
    --pidfile "$rd/dockerd.pid"
    # Our own (empty) daemon.json so /etc/docker/daemon.json can't leak in.
    --config-file "$rd/daemon.json"
    # Off on purpose: that's how the LAN-bridged production fleets run, and
    # it keeps the host's iptables untouched. -p still works (docker-proxy).
    --iptables=false
    --ip-forward=false
    --exec-opt native.cgroupdriver=cgroupfs
    --cgroup-parent "$(netns "$i")"
    --label "lab=lab$i"
  )
  engine_labels "$i"
  DOCKERD_ARGS+=(--storage-driver "$driver")
  # live-restore: after `stop` (SIGKILL of dockerd + containerd) the shims and
  # containers keep running, and `start` re-attaches to them, so the daemon
  # comes back with its containers in the state they were in. Without it the
  # restarted daemon first stops every container it finds still running.
  (( LIVE_RESTORE )) && DOCKERD_ARGS+=(--live-restore)
  return 0
}

# Engine labels (`docker info` Labels) besides lab=labI, for placement by the
# daemons' own labels: subnet= the daemon's fleetnet subnet (lab1 and lab2
# share 192.168.2.0/24, one pool), dc= differs between the two so a
# constraint can pick one of them. fleetdeck.toml's config labels say dc=lab
# for everyone, so a test can tell which source matched.
engine_labels() {
  local i=$1 dc
  case $i in 1) dc=us-east ;; 2) dc=us-west ;; 3) dc=eu ;; *) dc=lab ;; esac
  local subnet=192.168.$i.0/24
  (( i <= 2 )) && subnet=192.168.2.0/24
  DOCKERD_ARGS+=(--label "subnet=$subnet" --label "dc=$dc")
}

# Start daemon $1 in the background; returns at once (see wait_ready).
launch_daemon() {
  local i=$1 driver=$2 rd log
  rd=$(run_dir "$i"); log=$rd/dockerd.log
  mkdir -p "$rd" "$(data_root "$i")" "$(exec_root "$i")"
  [[ -s $rd/daemon.json ]] || echo '{}' >"$rd/daemon.json"
  # Stale pid files of a killed daemon: dockerd refuses to start if the pid in
  # its pidfile looks alive (a zombie or a recycled pid does), and dockerd's
  # containerd supervisor would "find" a running containerd the same way.
  rm -f "$rd/dockerd.pid" "$(exec_root "$i")/containerd/containerd.pid"
  dockerd_args "$i" "$driver"
  printf '\n=== lab.sh: starting lab%s at %s ===\n' "$i" "$(date -Is)" >>"$log"
  LAUNCHED[$i]=$SECONDS
  (
    cd /
    # Don't hand our open fds (the lock on fd 9, a test harness's pipes) to a
    # daemon that outlives us: a reader waiting for EOF would hang forever.
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    # setsid -f: new session, no controlling tty, reparented to init, so the
    # daemon survives the shell (or test process) that ran `lab.sh start`.
    # nsenter --net on the netns file, not `ip netns exec`: the latter
    # remounts /sys and dockerd then dies with "Devices cgroup isn't mounted".
    if (( i == SWARM_WORKER_I )); then
      # The Swarm worker gets a hostname of its own (a UTS namespace), so its node is told
      # from lab5's, which has the machine's.
      # shellcheck disable=SC2016  # $0 and $@ belong to the inner shell
      exec setsid -f nsenter --net="/run/netns/$(netns "$i")" unshare --uts \
        /bin/sh -c 'hostname "$0" && exec dockerd "$@"' "lab$i" "${DOCKERD_ARGS[@]}"
    fi
    exec setsid -f nsenter --net="/run/netns/$(netns "$i")" dockerd "${DOCKERD_ARGS[@]}"
  ) </dev/null >>"$log" 2>&1
}

answers() { timeout 5 docker -H "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
answers_tcp() {
  if (( $1 == TLS_LAB )); then
    timeout 5 docker --tlsverify --tlscacert "$LAB_TLS/ca.pem" --tlscert "$LAB_TLS/client/cert.pem" \
      --tlskey "$LAB_TLS/client/key.pem" -H "$(tls_url)" version >/dev/null 2>&1
  else
    answers "$(tcp_url "$1")"
  fi
}

# Wait until daemon $1 answers on both its socket and its TCP address.
wait_ready() {
  local i=$1 deadline=$(( SECONDS + READY_TIMEOUT )) log
  log="$(run_dir "$i")/dockerd.log"
  while :; do
    if answers "unix://$(sock "$i")" && answers_tcp "$i"; then return 0; fi
    # (Give setsid/nsenter a moment to exec dockerd before calling it dead.)
    if (( SECONDS - ${LAUNCHED[$i]:-0} >= 2 )) && [[ -z $(daemon_pids "$i" dockerd) ]]; then
      log "lab$i: dockerd exited during startup; last lines of $log:"
      tail -n 40 "$log" >&2
      return 1
    fi
    if (( SECONDS >= deadline )); then
      log "lab$i: no answer from $(sock "$i") / $(tcp_url "$i") within ${READY_TIMEOUT}s; last lines of $log:"
      tail -n 40 "$log" >&2
      return 1
    fi
    sleep 0.25
  done
}

# ------------------------------------------------------------------ image --

# busybox:local = static busybox + one symlink per applet in /bin + root in
# /etc/passwd and /etc/group. Built once and cached; rebuilt when the
# busybox binary changes.
build_image_tar() {
  local sum; sum=$(sha256sum /bin/busybox | cut -d' ' -f1)
  if [[ -s $IMAGE_TAR && $(cat "$IMAGE_TAR.busybox-sha256" 2>/dev/null) == "$sum" ]]; then return 0; fi
  mkdir -p "$LAB_DATA"
  local t a; t=$(mktemp -d)
  mkdir -p "$t"/{bin,etc,root,tmp,var}
  chmod 1777 "$t/tmp"; chmod 700 "$t/root"
  cp /bin/busybox "$t/bin/busybox"
  for a in $(/bin/busybox --list); do
    [[ $a == busybox ]] || ln -s busybox "$t/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$t/etc/passwd"
  printf 'root:x:0:\n' >"$t/etc/group"
  tar -C "$t" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$IMAGE_TAR.tmp" .
  mv "$IMAGE_TAR.tmp" "$IMAGE_TAR"
  printf '%s\n' "$sum" >"$IMAGE_TAR.busybox-sha256"
  rm -rf "$t"
  log "built $IMAGE_TAR ($(du -h "$IMAGE_TAR" | cut -f1))"
}

# No registry is reachable: images only exist if we import them.
ensure_image() {
  local i=$1
  dk "$i" image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  build_image_tar
  dk "$i" import --change 'CMD ["sh"]' "$IMAGE_TAR" "$IMAGE" >/dev/null
}

# ------------------------------------------------------------------- seed --

# fleetnet layout. lab1 and lab2 model two hosts on one LAN (192.168.2.0/24)
# with disjoint --ip-ranges and distinct gateways; every other lab has its
# own subnet 192.168.I.0/24.
fleetnet_params() {
  local i=$1
  case $i in
    1) NET_SUBNET=192.168.2.0/24 NET_RANGE=192.168.2.0/26  NET_GW=192.168.2.14 NET_AUX=192.168.2.254 IP_WEB=192.168.2.20 IP_STATIC=192.168.2.30 ;;
    2) NET_SUBNET=192.168.2.0/24 NET_RANGE=192.168.2.64/26 NET_GW=192.168.2.65 NET_AUX=192.168.2.254 IP_WEB=192.168.2.80 IP_STATIC=192.168.2.90 ;;
    *) NET_SUBNET=192.168.$i.0/24 NET_RANGE=192.168.$i.0/25 NET_GW=192.168.$i.1 NET_AUX=192.168.$i.254 IP_WEB=192.168.$i.20 IP_STATIC=192.168.$i.30 ;;
  esac
}

# Run docker against daemon $SEED_I, quietly; on failure show its stderr.
# (Every `docker run` warns "IPv4 forwarding is disabled": expected here.)
sdk() {
  local err rc=0
  err=$( { dk "$SEED_I" "$@" >/dev/null; } 2>&1 ) || rc=$?
  if (( rc )); then
    printf 'lab%s: docker %s failed:\n%s\n' "$SEED_I" "$*" "$(grep -v 'IPv4 forwarding is disabled' <<<"$err")" >&2
    return "$rc"
  fi
}

state_of() { dk "$SEED_I" container inspect -f "$2" "$1" 2>/dev/null; }

# Poll until container $1's template $2 renders as $3 (deadline $4 s).
wait_state() {
  local deadline=$(( SECONDS + $4 )) got=
  while (( SECONDS < deadline )); do
    got=$(state_of "$1" "$2") || true
    [[ $got == "$3" ]] && return 0
    sleep 0.25
  done
  printf 'lab%s: %s: wanted %s = %s, got %s\n' "$SEED_I" "$1" "$2" "$3" "${got:-?}" >&2
  return 1
}

# IDs of daemon $SEED_I's containers that carry the seed label or a seed name.
seed_container_ids() {
  local id name labels n
  while read -r id name labels; do
    if [[ ,$labels, == *",$SEED_LABEL,"* ]]; then echo "$id"; continue; fi
    for n in "${SEED_NAMES[@]}"; do [[ $name == "$n" ]] && { echo "$id"; break; }; done
  done < <(dk "$SEED_I" ps -a --no-trunc --format '{{.ID}} {{.Names}} {{.Labels}}')
  return 0
}

seed_daemon() {
  SEED_I=$1
  local i=$1 ids n
  fleetnet_params "$i"

  # 1. Forget the previous seed: labelled containers, plus anything that took
  #    a seed name, then fleetnet (forcibly detaching test containers).
  # (Match names exactly ourselves: `docker rm db` would fall back to any
  # container whose *ID* starts with "db".)
  ids=$(seed_container_ids)
  # shellcheck disable=SC2086
  [[ -z $ids ]] || dk "$i" rm -f -v $ids >/dev/null
  local c
  for n in $(dk "$i" network ls -q --filter "label=$SEED_LABEL") fleetnet; do
    dk "$i" network inspect "$n" >/dev/null 2>&1 || continue
    # shellcheck disable=SC2016  # a Go template, not shell
    for c in $(dk "$i" network inspect -f '{{range $id, $c := .Containers}}{{$id}} {{end}}' "$n"); do
      dk "$i" network disconnect -f "$n" "$c" >/dev/null 2>&1 || true
    done
    sdk network rm "$n"
  done
  ids=$(seed_container_ids)
  [[ -z $ids ]] || { echo "lab$i: could not remove old seed containers: $ids" >&2; return 1; }

  # 2. Recreate.
  ensure_image "$i"
  local L=(--label "$SEED_LABEL")
  sdk network create "${L[@]}" --driver bridge --subnet "$NET_SUBNET" --ip-range "$NET_RANGE" \
      --gateway "$NET_GW" --aux-address "DefaultGatewayIPv4=$NET_AUX" fleetnet
  sdk run -d --name web-1 "${L[@]}" --label app=web --network fleetnet --ip "$IP_WEB" "$IMAGE" sh -c "$LONG_CMD"
  sdk run -d --name web-2 "${L[@]}" --label app=web --network fleetnet "$IMAGE" sh -c "$LONG_CMD"
  sdk run -d --name db "${L[@]}" --label app=db -p 5432:5432 "$IMAGE" sh -c "$DB_CMD"
  sdk run -d --name worker "${L[@]}" --label app=worker --health-cmd true --health-interval 2s "$IMAGE" sh -c "$LONG_CMD"
  sdk run -d --name flaky "${L[@]}" --label app=flaky --health-cmd false --health-interval 2s --health-retries 1 "$IMAGE" sh -c "$LONG_CMD"
  sdk run -d --name batch "${L[@]}" --label app=batch "$IMAGE" sh -c 'exit 3'
  # Exited(0) yet still configured with a static IP on fleetnet.
  sdk create --name stopped-static "${L[@]}" --label app=static --network fleetnet --ip "$IP_STATIC" "$IMAGE" sh -c "$LONG_CMD"
  sdk start stopped-static
  sdk stop -t 5 stopped-static
  if (( i == 3 )); then
    sdk run -d --name crashloop "${L[@]}" --label app=crashloop --restart always "$IMAGE" sh -c 'sleep 2; exit 1'
  fi

  # 3. Wait for the intended states (flaky turning unhealthy is not waited for).
  wait_state batch '{{.State.Status}} {{.State.ExitCode}}' 'exited 3' 30
  wait_state stopped-static '{{.State.Status}} {{.State.ExitCode}}' 'exited 0' 30
  for n in web-1 web-2 db worker flaky; do wait_state "$n" '{{.State.Status}}' running 30; done
  wait_state worker '{{.State.Health.Status}}' healthy 30
  wait_state web-1 '{{.NetworkSettings.Networks.fleetnet.IPAddress}}' "$IP_WEB" 5
  printf 'lab%s seeded: %s containers\n' "$i" "$(dk "$i" ps -aq --filter "label=$SEED_LABEL" | wc -l)"
}

# Seed the given daemons in parallel; each one's output goes to its seed.log.
seed_all() {
  local i pids=() failed=0
  for i in "$@"; do
    ( seed_daemon "$i" ) >"$(run_dir "$i")/seed.log" 2>&1 &
    pids+=("$!")
  done
  local k=0
  for i in "$@"; do
    if ! wait "${pids[$k]}"; then
      failed=1; log "seeding lab$i failed:"; cat "$(run_dir "$i")/seed.log" >&2
    fi
    k=$(( k + 1 ))
  done
  (( failed == 0 ))
}

# ----------------------------------------------------------------- remote --
#
# Remote transports, for real: an sshd inside each daemon's namespace and a
# daemon that only speaks mutual TLS. Both idempotent (`up` and `ensure` call
# ensure_remote; `remote` alone adds them to a running lab).
#
#   sshd     ssh://root@10.203.I.2:2222, own host key, key-only login. Its
#            authorized_keys sets DOCKER_HOST to labI's socket
#            (PermitUserEnvironment), so the remote `docker system dial-stdio`
#            reaches that daemon. Client side, in $LAB_SSH: id_ed25519,
#            known_hosts, and `config` (pass with ssh -F) with aliases
#            ssh-labI (HostName, Port, User, key, known_hosts); id_nodocker
#            logs in with PATH=/nonexistent (no docker on the remote).
#   lab6     tcp://10.203.6.2:2376 --tlsverify. $LAB_TLS: ca.pem, ca-key.pem,
#            server-{cert,key}.pem (SAN IP 10.203.6.2, DNS lab6), and client/
#            {ca,cert,key}.pem (a DOCKER_CERT_PATH-style directory). Not in
#            fleetdeck.toml: tests build their own configs for it.

ssh_dir() { printf '%s/sshd' "$(run_dir "$1")"; }

sshd_running() {
  local pf p; pf="$(ssh_dir "$1")/sshd.pid"
  { read -r p <"$pf"; } 2>/dev/null || return 1
  pid_alive "$p" && [[ $(comm_of "$p") == sshd ]]
}

ssh_client_files() {
  mkdir -p "$LAB_SSH"; chmod 700 "$LAB_SSH"
  [[ -s $LAB_SSH/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C fleetdeck-lab -f "$LAB_SSH/id_ed25519"
  # A second key whose logins find no docker on PATH: the "docker missing on the remote" case.
  [[ -s $LAB_SSH/id_nodocker ]] || ssh-keygen -q -t ed25519 -N '' -C fleetdeck-lab-nodocker -f "$LAB_SSH/id_nodocker"
}

ensure_sshd() {
  local i=$1 d addr; d=$(ssh_dir "$i"); addr=10.203.$i.2
  mkdir -p "$d" /run/sshd
  [[ -s $d/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -C "lab$i" -f "$d/ssh_host_ed25519_key"
  # Per user (%u): only root may log in, so a wrong user is refused like on a real host.
  {
    printf 'environment="DOCKER_HOST=unix://%s" %s\n' "$(sock "$i")" "$(<"$LAB_SSH/id_ed25519.pub")"
    printf 'environment="PATH=/nonexistent" %s\n' "$(<"$LAB_SSH/id_nodocker.pub")"
  } >"$d/authorized_keys_root"
  rm -f "$d/authorized_keys"
  cat >"$d/sshd_config.new" <<CONF
# lab$i sshd, written by scripts/lab.sh
ListenAddress $addr:$SSH_PORT
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys_%u
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitUserEnvironment yes
StrictModes no
MaxSessions 10
LogLevel VERBOSE
CONF
  if cmp -s "$d/sshd_config.new" "$d/sshd_config"; then rm -f "$d/sshd_config.new"
  else
    mv "$d/sshd_config.new" "$d/sshd_config"
    # A running sshd re-reads its config on SIGHUP.
    # (It rewrites its pid file as it does: wait for that, do not start a second one.)
    if sshd_running "$i"; then
      kill -HUP "$(<"$d/sshd.pid")"
      local t=$(( SECONDS + 10 ))
      until sshd_running "$i" || (( SECONDS >= t )); do sleep 0.1; done
      return 0
    fi
  fi
  sshd_running "$i" && return 0
  ( cd /
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid -f nsenter --net="/run/netns/$(netns "$i")" /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log"
  ) </dev/null >>"$d/sshd.out" 2>&1
  local deadline=$(( SECONDS + 10 ))
  until sshd_running "$i"; do
    (( SECONDS < deadline )) || { tail -n 20 "$d/sshd.log" >&2; die "lab$i: sshd did not start"; }
    sleep 0.1
  done
}

write_ssh_client_config() {
  local i n=$1 d
  : >"$LAB_SSH/known_hosts.tmp"
  {
    echo "# ssh client config for the lab's sshds (ssh -F $LAB_SSH/config); written by scripts/lab.sh"
    for i in "${@:2}"; do
      d=$(ssh_dir "$i")
      printf '[10.203.%s.2]:%s %s\n' "$i" "$SSH_PORT" "$(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >>"$LAB_SSH/known_hosts.tmp"
      printf '\nHost ssh-lab%s\n  HostName 10.203.%s.2\n  Port %s\n  User root\n' "$i" "$i" "$SSH_PORT"
    done
    printf '\nHost *\n  IdentityFile %s/id_ed25519\n  IdentitiesOnly yes\n  UserKnownHostsFile %s/known_hosts\n  StrictHostKeyChecking yes\n  BatchMode yes\n' "$LAB_SSH" "$LAB_SSH"
  } >"$LAB_SSH/config.tmp"
  mv "$LAB_SSH/known_hosts.tmp" "$LAB_SSH/known_hosts"
  mv "$LAB_SSH/config.tmp" "$LAB_SSH/config"
  : "$n"
}

make_tls() {
  local t=$LAB_TLS
  [[ -s $t/client/key.pem && -s $t/server-cert.pem ]] && return 0
  mkdir -p "$t/client"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=fleetdeck lab CA' \
    -keyout "$t/ca-key.pem" -out "$t/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=lab$TLS_LAB" \
    -keyout "$t/server-key.pem" -out "$t/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:10.203.%s.2,DNS:lab%s\nextendedKeyUsage=serverAuth\n' "$TLS_LAB" "$TLS_LAB" >"$t/server.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial \
    -days 3650 -extfile "$t/server.ext" -out "$t/server-cert.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj '/CN=fleetdeck' \
    -keyout "$t/client/key.pem" -out "$t/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$t/client.ext"
  openssl x509 -req -in "$t/client.csr" -CA "$t/ca.pem" -CAkey "$t/ca-key.pem" -CAcreateserial \
    -days 3650 -extfile "$t/client.ext" -out "$t/client/cert.pem" 2>/dev/null
  cp "$t/ca.pem" "$t/client/ca.pem"
  rm -f "$t"/*.csr "$t"/*.ext
}

# Certificates for the failure tests, in $LAB_TLS/bad: rogue-ca.pem (a CA that
# signed nothing the daemon uses), expired-{cert,key}.pem (lab CA, IP 127.0.0.1,
# valid only in January 2020) and wrongname-{cert,key}.pem (lab CA, only for
# DNS wrong.example). A test serves the last two from a TLS front on 127.0.0.1.
make_bad_tls() {
  local t=$LAB_TLS b=$LAB_TLS/bad
  [[ -s $b/wrongname-cert.pem ]] && return 0
  mkdir -p "$b/db"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=rogue CA' \
    -keyout "$b/rogue-ca-key.pem" -out "$b/rogue-ca.pem" 2>/dev/null
  : >"$b/db/index.txt"; echo 1000 >"$b/db/serial"
  cat >"$b/ca.cnf" <<CNF
[ca]
default_ca = lab
[lab]
database = $b/db/index.txt
serial = $b/db/serial
new_certs_dir = $b/db
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
CNF
  local name san
  for name in expired wrongname; do
    san='IP:127.0.0.1'; [[ $name == wrongname ]] && san='DNS:wrong.example'
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -addext "subjectAltName=$san" \
      -keyout "$b/$name-key.pem" -out "$b/$name.csr" 2>/dev/null
    if [[ $name == expired ]]; then
      openssl ca -batch -notext -config "$b/ca.cnf" -cert "$t/ca.pem" -keyfile "$t/ca-key.pem" \
        -startdate 20200101000000Z -enddate 20200201000000Z -in "$b/$name.csr" -out "$b/$name-cert.pem" 2>/dev/null
    else
      openssl ca -batch -notext -config "$b/ca.cnf" -cert "$t/ca.pem" -keyfile "$t/ca-key.pem" \
        -days 3650 -in "$b/$name.csr" -out "$b/$name-cert.pem" 2>/dev/null
    fi
  done
  rm -f "$b"/*.csr
}

ensure_tls_daemon() {
  local i=$TLS_LAB
  make_tls
  make_bad_tls
  if answers "unix://$(sock "$i")" && answers_tcp "$i"; then return 0; fi
  local stale=(); mapfile -t stale < <(daemon_pids "$i" dockerd containerd)
  if (( ${#stale[@]} )); then kill -9 "${stale[@]}" 2>/dev/null || true; wait_gone 10 "${stale[@]}" || true; fi
  ensure_netns "$i"
  launch_daemon "$i" "$(storage_driver "$i")"
  wait_ready "$i" || die "lab$i (TLS) did not come up"
  ensure_image "$i"
}

ensure_remote() {
  local n i; n=$(lab_count)
  ssh_client_files
  local with_ssh=()
  for (( i = 1; i <= n; i++ )); do
    [[ -e /run/netns/$(netns "$i") ]] || continue
    ensure_sshd "$i"; with_ssh+=("$i")
  done
  ensure_tls_daemon
  ensure_sshd "$TLS_LAB"; with_ssh+=("$TLS_LAB")
  write_ssh_client_config "$n" "${with_ssh[@]}"
  log "remote: sshd on port $SSH_PORT in labs ${with_ssh[*]} (ssh -F $LAB_SSH/config ssh-labN); TLS daemon lab$TLS_LAB at $(tls_url) (certs in $LAB_TLS)"
}

# ----------------------------------------------------------------- config --

write_config() {
  local n=$1 i url cluster subnet
  mkdir -p "$LAB_RUN"
  {
    echo "# fleetdeck config for the local test lab; written by scripts/lab.sh up"
    for (( i = 1; i <= n; i++ )); do
      case $i in
        1) url="unix://$(sock 1)" cluster=lab-a subnet=192.168.2.0/24 ;;
        2) url=$(tcp_url 2) cluster=lab-a subnet=192.168.2.0/24 ;;
        3) url=$(tcp_url 3) cluster=lab-b subnet=192.168.3.0/24 ;;
        *) url="unix://$(sock "$i")" cluster=chaos subnet="192.168.$i.0/24" ;;
      esac
      printf '\n[[endpoint]]\nname = "lab%s"\nurl = "%s"\ncluster = "%s"\nlabels = { subnet = "%s", dc = "lab" }\n' \
        "$i" "$url" "$cluster" "$subnet"
    done
  } >"$LAB_CONFIG.tmp"
  mv "$LAB_CONFIG.tmp" "$LAB_CONFIG"
}

# -------------------------------------------------------------- teardown --

# Tear down every trace of every lab daemon, tolerating any partial state
# (a killed `up`, a SIGKILLed daemon, a half-made namespace). Prints what it did.
# With INDEX arguments only those daemons go (`extra-down`): the other labs'
# processes, the shared config and the ssh/TLS files are left alone.
teardown() {
  local what=$1 idx=() i n_proc=0 n_mount=0 n_ns=0 n_dirs=0; shift
  if (( $# )); then idx=("$@"); else mapfile -t idx < <(known_indexes); fi

  # 1. Processes. dockerd first so it can't restart containerd or containers,
  #    then containerd, shims, docker-proxy, and every process in the
  #    containers' cgroups. Repeat: something may spawn while we kill.
  local pids p ns c
  for _ in 1 2 3 4 5; do
    pids=()
    while read -r i p _; do
      if [[ " ${idx[*]} " == *" $i "* ]]; then pids+=("$p"); fi
    done < <(scan_lab_processes)
    for i in "${idx[@]}"; do
      ns=$(netns "$i")
      if [[ -e /run/netns/$ns ]]; then
        for p in $(ip netns pids "$ns" 2>/dev/null); do
          c=$(comm_of "$p") || continue   # already gone
          if is_lab_comm "$c"; then pids+=("$p")
          else log "leaving pid $p ($c) in namespace $ns alone"; fi
        done
      fi
      for p in $(cgroup_pids "$i"); do pids+=("$p"); done
    done
    local alive=()
    for p in $(printf '%s\n' "${pids[@]}" | sort -un); do pid_alive "$p" && alive+=("$p"); done
    (( ${#alive[@]} )) || break
    # dockerd pids first in the kill order
    local ordered=() rest=()
    for p in "${alive[@]}"; do [[ $(comm_of "$p") == dockerd ]] && ordered+=("$p") || rest+=("$p"); done
    kill -9 "${ordered[@]}" "${rest[@]}" 2>/dev/null || true
    n_proc=$(( n_proc + ${#alive[@]} ))
    wait_gone 10 "${alive[@]}" || log "some processes did not die within 10 s: ${alive[*]}"
  done

  # 2. Empty container cgroups (deepest first).
  local d
  for i in "${idx[@]}"; do
    for d in $(cgroup_dirs "$i"); do
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
  done

  # 3. Shim sockets live in /run/containerd/s/<sha256(address/ns/id)>; a
  #    SIGKILLed shim leaves its socket behind there.
  local t id
  for i in "${idx[@]}"; do
    for t in "$(exec_root "$i")"/containerd/daemon/io.containerd.runtime.v2.task/*/*; do
      [[ -d $t ]] || continue
      id=${t##*/}; ns=${t%/*}; ns=${ns##*/}
      rm -f "/run/containerd/s/$(printf '%s' "$(exec_root "$i")/containerd/containerd.sock/$ns/$id" | sha256sum | cut -d' ' -f1)"
    done
  done

  # 4. Mounts under the lab's directories (overlay merged dirs, container
  #    netns files, the data root's own bind mount, shm), deepest first.
  #    Lazy, so a mount still held by a dying process can't stop us.
  local roots=() m
  for i in "${idx[@]}"; do roots+=("$(data_root "$i")" "$(exec_root "$i")" "$(run_dir "$i")"); done
  for _ in 1 2 3; do
    local ms=()
    mapfile -t ms < <(mounts_under "${roots[@]}")
    (( ${#ms[@]} )) || break
    # Deepest first, 64 to an umount (one each took minutes for a thousand containers).
    printf '%s\0' "${ms[@]}" | xargs -0 -n 64 umount -l 2>/dev/null || true
    n_mount=$(( n_mount + ${#ms[@]} - $(mounts_under "${roots[@]}" | grep -c . || true) ))
  done
  m=$(mounts_under "${roots[@]}")
  [[ -z $m ]] || die "still mounted, not deleting lab data: $m"

  # 5. Namespaces and veth pairs (deleting the host end deletes the pair).
  for i in "${idx[@]}"; do
    ns=$(netns "$i")
    if [[ -e /run/netns/$ns ]]; then
      ip netns delete "$ns" 2>/dev/null || { umount -l "/run/netns/$ns" 2>/dev/null || true; rm -f "/run/netns/$ns"; }
      n_ns=$(( n_ns + 1 ))
    fi
    if ip link show "fdl$i-h" >/dev/null 2>&1; then ip link delete "fdl$i-h" 2>/dev/null || true; fi
  done

  # 6. Files. --one-file-system: never follow into anything still mounted.
  for i in "${idx[@]}"; do
    for d in "$(data_root "$i")" "$(exec_root "$i")" "$(run_dir "$i")"; do
      [[ -e $d ]] || continue
      rm -rf --one-file-system "$d"; n_dirs=$(( n_dirs + 1 ))
    done
  done
  if [[ $what != extra-down ]]; then
    rm -f "$LAB_CONFIG" "$LAB_CONFIG.tmp" "$LAB_COUNT_FILE"
    rm -rf "$LAB_SSH" "$LAB_TLS"
    rmdir "$LAB_RUN" "$LAB_EXEC" 2>/dev/null || true
    rm -rf "$LAB_DATA"/.overlay-probe.* 2>/dev/null || true
  fi

  if (( n_proc + n_mount + n_ns + n_dirs == 0 )); then
    if [[ $what == down ]]; then log "down: nothing was up"; fi
  else
    log "$what: killed $n_proc processes, unmounted $n_mount mounts, deleted $n_ns namespaces, removed $n_dirs directories"
  fi
}

# --------------------------------------------------------------- commands --

cmd_up() {
  local t0; t0=$(now)
  local n; n=$(lab_count fresh)
  ensure_deps
  take_lock
  teardown "reset leftovers of an earlier run"
  guard_system_containerd

  local driver i; driver=$(storage_driver)
  mkdir -p "$LAB_RUN" "$LAB_DATA" "$LAB_EXEC"
  printf '%s\n' "$n" >"$LAB_COUNT_FILE"
  write_config "$n"

  # Start all daemons at once; build the image tar while they boot.
  for (( i = 1; i <= n; i++ )); do ensure_netns "$i"; launch_daemon "$i" "$driver"; done
  build_image_tar
  for (( i = 1; i <= n; i++ )); do wait_ready "$i" || die "lab$i did not come up"; done
  log "$n daemons answering after $(since "$t0")s"

  local pids=()
  for (( i = 1; i <= n; i++ )); do ensure_image "$i" & pids+=("$!"); done
  for i in "${pids[@]}"; do wait "$i" || die "importing $IMAGE failed"; done

  seed_all $(seq 1 "$n") || die "seeding failed"
  for (( i = 1; i <= n; i++ )); do cat "$(run_dir "$i")/seed.log"; done
  ensure_remote
  # The Swarm lab, beside the fleet (released lock: cmd_swarm takes it again).
  if (( n < SWARM_I )); then exec 9>&-; cmd_swarm; fi

  local ver; ver=$(dk 1 version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')
  echo "fleetdeck lab up: $n daemons, docker $ver, storage $driver, live-restore $( (( LIVE_RESTORE )) && echo on || echo off)"
  cmd_status
  echo "config: $LAB_CONFIG    (eval \"\$(scripts/lab.sh env)\" for LABn_SOCK / LABn_TCP)"
  echo "up took $(since "$t0")s"
}

# lab5: a daemon of its own that is a Swarm manager, for the Swarm tests only (the shared
# config never lists it, so no other test sees its services). Idempotent: starts what is
# not running, imports the image, inits the swarm once.
SWARM_I=5
cmd_swarm() {
  local i=$SWARM_I state
  # Swarm mode refuses --live-restore; an earlier lab5 started with it is restarted without.
  LIVE_RESTORE=0
  local d
  for d in "$i" "$SWARM_WORKER_I"; do
    if answers "unix://$(sock "$d")" && [[ $(dk "$d" info --format '{{.LiveRestoreEnabled}}') == true ]]; then
      cmd_stop "lab$d"
    fi
  done
  take_lock
  if ! answers "unix://$(sock "$i")"; then
    guard_system_containerd
    ensure_netns "$i"
    launch_daemon "$i" "$(storage_driver "$i")"
    wait_ready "$i" || die "lab$i did not come up"
  fi
  ensure_image "$i"
  state=$(dk "$i" info --format '{{.Swarm.LocalNodeState}}')
  if [[ $state != active ]]; then
    dk "$i" swarm init --advertise-addr "10.203.$i.2" >/dev/null || die "lab$i: swarm init failed"
  fi
  # Node labels (Spec.Labels, kept in the swarm's own state; idempotent), for
  # node.labels.K placement constraints.
  dk "$i" node update --label-add dc=swarm-east --label-add tier=edge \
      "$(dk "$i" info --format '{{.Swarm.NodeID}}')" >/dev/null || die "lab$i: node labels failed"
  log "lab$i: swarm manager up (unix://$(sock "$i"), $(tcp_url "$i"))"
  ensure_swarm_worker
}

# A veth between the manager's and the worker's namespaces. The lab's namespaces reach only
# the host (each has one /24 on its veth to it, and the host does not forward), while Swarm
# needs 2377/tcp, 7946/tcp+udp and 4789/udp between its nodes' advertised addresses: a host
# route to the other node's 10.203.I.2 over this link, in each namespace, carries all of it
# without touching the host's forwarding or iptables.
swarm_link() {
  local m=$SWARM_I w=$SWARM_WORKER_I mn wn
  mn=$(netns "$m"); wn=$(netns "$w")
  if ! ip -n "$mn" link show "fdsw$w" >/dev/null 2>&1; then
    ip -n "$wn" link delete "fdsw$m" 2>/dev/null || true   # the half of an old pair
    ip -n "$mn" link add "fdsw$w" type veth peer name "fdsw$m" netns "$wn"
  fi
  ip -n "$mn" link set "fdsw$w" up
  ip -n "$wn" link set "fdsw$m" up
  ip -n "$mn" route replace "10.203.$w.2/32" dev "fdsw$w" src "10.203.$m.2"
  ip -n "$wn" route replace "10.203.$m.2/32" dev "fdsw$m" src "10.203.$w.2"
}

# lab7: a worker of lab5's swarm, with node labels of its own. Idempotent: starts the daemon
# if it does not answer, joins (again) unless lab5 lists it, drops the nodes earlier joins
# left behind, sets the labels. Runs under the lock cmd_swarm took.
SWARM_WORKER_I=7
ensure_swarm_worker() {
  local i=$SWARM_WORKER_I m=$SWARM_I state node id host status
  if ! answers "unix://$(sock "$i")"; then
    local stale=(); mapfile -t stale < <(daemon_pids "$i" dockerd containerd)
    if (( ${#stale[@]} )); then kill -9 "${stale[@]}" 2>/dev/null || true; wait_gone 10 "${stale[@]}" || true; fi
    ensure_netns "$i"
    launch_daemon "$i" "$(storage_driver "$i")"
    wait_ready "$i" || die "lab$i did not come up"
  fi
  ensure_image "$i"
  swarm_link
  state=$(dk "$i" info --format '{{.Swarm.LocalNodeState}}')
  node=$(dk "$i" info --format '{{.Swarm.NodeID}}')
  if [[ $state != active || -z $node ]] || ! dk "$m" node inspect "$node" >/dev/null 2>&1; then
    [[ $state == inactive ]] || dk "$i" swarm leave --force >/dev/null 2>&1 || true
    dk "$i" swarm join --token "$(dk "$m" swarm join-token -q worker)" \
      --advertise-addr "10.203.$i.2" --listen-addr "10.203.$i.2:2377" "10.203.$m.2:2377" >/dev/null \
      || die "lab$i: joining lab$m's swarm failed"
    node=$(dk "$i" info --format '{{.Swarm.NodeID}}')
  fi
  # Earlier joins of this worker (a lab7 torn down, a rejoin) stay in the node list as down.
  while read -r id host status; do
    if [[ $host == "lab$i" && $id != "$node" && $status != Ready ]]; then
      dk "$m" node rm --force "$id" >/dev/null 2>&1 || true
    fi
  done < <(dk "$m" node ls --format '{{.ID}} {{.Hostname}} {{.Status}}')
  local deadline=$(( SECONDS + 30 ))
  until [[ $(dk "$m" node inspect -f '{{.Status.State}}' "$node" 2>/dev/null) == ready ]]; do
    (( SECONDS < deadline )) || die "lab$i: node $node not ready in lab$m's swarm within 30 s"
    sleep 0.5
  done
  dk "$m" node update --label-add dc=swarm-west --label-add tier=core "$node" >/dev/null \
    || die "lab$i: node labels failed"
  log "lab$i: swarm worker up (unix://$(sock "$i"), $(tcp_url "$i")), node $node"
}

cmd_ensure() {
  local i n
  if [[ -f $LAB_CONFIG && -f $LAB_COUNT_FILE ]]; then
    n=$(lab_count)
    for (( i = 1; i <= n; i++ )); do
      answers "unix://$(sock "$i")" || { cmd_up; return; }
    done
    take_lock
    # What `up` adds to each namespace and a lab started before it existed lacks.
    for (( i = 1; i <= n; i++ )); do ensure_lan_parents "$i"; done
    ensure_remote
    log "lab already up ($n daemons); config $LAB_CONFIG"
    if (( n < SWARM_I )); then
      answers "unix://$(sock "$SWARM_I")" && answers "unix://$(sock "$SWARM_WORKER_I")" || { exec 9>&-; cmd_swarm; }
    fi
    return 0
  fi
  cmd_up
}

cmd_seed() {
  take_lock
  local targets=() a i
  if (( $# )); then for a in "$@"; do targets+=("$(parse_name "$a")"); done
  else mapfile -t targets < <(seq 1 "$(lab_count)"); fi
  for i in "${targets[@]}"; do
    answers "unix://$(sock "$i")" || die "lab$i is not up (run: scripts/lab.sh up, or start lab$i)"
  done
  seed_all "${targets[@]}" || die "seeding failed"
  for i in "${targets[@]}"; do cat "$(run_dir "$i")/seed.log"; done
}

cmd_down() {
  take_lock
  teardown down
}

cmd_status() {
  local i state n; n=$(lab_count)
  for (( i = 1; i <= n; i++ )); do
    state=down
    answers "unix://$(sock "$i")" && state=up
    printf '%-6s %-5s %-48s %s\n' "lab$i" "$state" "unix://$(sock "$i")" "$(tcp_url "$i")"
  done
  if [[ -d $(run_dir "$SWARM_I") ]]; then
    state=down
    answers "unix://$(sock "$SWARM_I")" && state=up
    printf '%-6s %-5s %-48s %s (Swarm manager)\n' "lab$SWARM_I" "$state" "unix://$(sock "$SWARM_I")" "$(tcp_url "$SWARM_I")"
  fi
  if [[ -d $(run_dir "$TLS_LAB") ]]; then
    state=down
    answers "unix://$(sock "$TLS_LAB")" && answers_tcp "$TLS_LAB" && state=up
    printf '%-6s %-5s %-48s %s (mutual TLS)\n' "lab$TLS_LAB" "$state" "unix://$(sock "$TLS_LAB")" "$(tls_url)"
  fi
  if [[ -d $(run_dir "$SWARM_WORKER_I") ]]; then
    state=down
    answers "unix://$(sock "$SWARM_WORKER_I")" && state=up
    printf '%-6s %-5s %-48s %s (Swarm worker of lab%s)\n' "lab$SWARM_WORKER_I" "$state" "unix://$(sock "$SWARM_WORKER_I")" "$(tcp_url "$SWARM_WORKER_I")" "$SWARM_I"
  fi
  # Extra daemons (`extra`): run dirs above the lab's own.
  for i in $(known_indexes); do
    (( i > n && i > SWARM_WORKER_I )) || continue
    state=down
    answers "unix://$(sock "$i")" && state=up
    printf '%-6s %-5s %-48s %s (extra)\n' "lab$i" "$state" "unix://$(sock "$i")" "$(tcp_url "$i")"
  done
}

cmd_stop() {
  local i; i=$(parse_name "${1:-}")
  take_lock
  local pids=()
  mapfile -t pids < <(daemon_pids "$i" dockerd containerd | sort -u)
  if (( ${#pids[@]} == 0 )); then log "lab$i is not running"; return 0; fi
  # Both at once: dockerd would otherwise restart a dead containerd. The shims
  # and containers are left running, as on a host whose daemon vanished.
  kill -9 "${pids[@]}" 2>/dev/null || true
  wait_gone 10 "${pids[@]}" || die "lab$i: pids ${pids[*]} survived SIGKILL"
  log "lab$i stopped (SIGKILL dockerd + containerd: ${pids[*]})"
}

cmd_start() {
  local i; i=$(parse_name "${1:-}")
  take_lock
  local t0; t0=$(now)
  if [[ -n $(daemon_pids "$i" dockerd) ]]; then
    wait_ready "$i" || die "lab$i is running but not answering"
    log "lab$i already running"; return 0
  fi
  [[ -d $(data_root "$i") ]] || log "lab$i has no data root yet: starting an empty daemon (use up for the full lab)"
  guard_system_containerd
  # A containerd whose dockerd was killed alone would block the new one.
  local stale=(); mapfile -t stale < <(daemon_pids "$i" containerd)
  if (( ${#stale[@]} )); then kill -9 "${stale[@]}" 2>/dev/null || true; wait_gone 10 "${stale[@]}" || true; fi
  ensure_netns "$i"
  launch_daemon "$i" "$(storage_driver "$i")"
  wait_ready "$i" || die "lab$i did not come up"
  log "lab$i up after $(since "$t0")s"
}

# Extra daemons labFIRST..labFIRST+COUNT-1 for scale benchmarks (bench/scale.sh): empty
# daemons with busybox:local, not in fleetdeck.toml, never seeded. Indexes must lie above
# every lab daemon (1..LAB_DAEMONS and the swarm/TLS labs 5..7) and at most 99 (their
# 10.203.I.0/24). The daemons boot in parallel; idempotent (what answers is left alone).
# `down` and `up` remove them with the rest (known_indexes finds their traces).
extra_range() {
  local first=${1:-} count=${2:-} low
  [[ $first =~ ^[1-9][0-9]*$ && $count =~ ^[1-9][0-9]*$ ]] || die "usage: $3 FIRST COUNT (e.g. 11 40)"
  low=$(lab_count); (( low < SWARM_WORKER_I )) && low=$SWARM_WORKER_I
  (( first > low )) || die "$3: FIRST must be above the lab's daemons (> lab$low), got $first"
  (( first + count - 1 <= 99 )) || die "$3: labFIRST..labFIRST+COUNT-1 must end at lab99 or below"
  seq "$first" $(( first + count - 1 ))
}

cmd_extra() {
  local idx=() i t0 driver d pids=() fresh=0; t0=$(now)
  local list; list=$(extra_range "${1:-}" "${2:-}" extra) || exit 1
  mapfile -t idx <<<"$list"
  take_lock
  guard_system_containerd
  driver=$(storage_driver)
  mkdir -p "$LAB_RUN" "$LAB_DATA" "$LAB_EXEC"
  for i in "${idx[@]}"; do
    answers "unix://$(sock "$i")" && continue
    # A containerd whose dockerd was killed alone would block the new one.
    local stale=(); mapfile -t stale < <(daemon_pids "$i" dockerd containerd)
    if (( ${#stale[@]} )); then kill -9 "${stale[@]}" 2>/dev/null || true; wait_gone 10 "${stale[@]}" || true; fi
    d=$driver; [[ -d $(data_root "$i") ]] && d=$(storage_driver "$i")
    ensure_netns "$i"
    launch_daemon "$i" "$d"
    fresh=$(( fresh + 1 ))
  done
  build_image_tar
  for i in "${idx[@]}"; do wait_ready "$i" || die "lab$i did not come up"; done
  for i in "${idx[@]}"; do ensure_image "$i" & pids+=("$!"); done
  for i in "${pids[@]}"; do wait "$i" || die "importing $IMAGE failed"; done
  log "extra: lab${idx[0]}..lab${idx[-1]} answering with $IMAGE ($fresh started) after $(since "$t0")s"
}

# Stop and delete extra daemons (processes, containers, mounts, namespace, data); the lab's
# own daemons are refused by extra_range and never touched.
cmd_extra_down() {
  local idx=()
  local list; list=$(extra_range "${1:-}" "${2:-}" extra-down) || exit 1
  mapfile -t idx <<<"$list"
  take_lock
  teardown extra-down "${idx[@]}"
}

cmd_env() {
  local i n; n=$(lab_count)
  echo "export FLEETDECK_LAB_CONFIG=$LAB_CONFIG"
  echo "export FLEETDECK_LAB_DAEMONS=$n"
  for (( i = 1; i <= n; i++ )); do
    echo "export LAB${i}_SOCK=$(sock "$i")"
    echo "export LAB${i}_UNIX=unix://$(sock "$i")"
    echo "export LAB${i}_TCP=$(tcp_url "$i")"
  done
  echo "export LAB_SSH_CONFIG=$LAB_SSH/config"
  echo "export LAB_SSH_PORT=$SSH_PORT"
  echo "export LAB_TLS_DIR=$LAB_TLS"
  echo "export LAB${TLS_LAB}_TLS=$(tls_url)"
}

# The header comment above, minus the shebang.
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

main() {
  [[ $EUID -eq 0 ]] || die "must run as root (namespaces, mounts, dockerd)"
  local cmd=${1:-}; shift || true
  case $cmd in
    up)     cmd_up ;;
    ensure) cmd_ensure ;;
    seed)   cmd_seed "$@" ;;
    down)   cmd_down ;;
    status) cmd_status ;;
    stop)   cmd_stop "$@" ;;
    start)  cmd_start "$@" ;;
    env)    cmd_env ;;
    remote) take_lock; ensure_remote ;;
    swarm)  cmd_swarm ;;
    extra)  cmd_extra "$@" ;;
    extra-down) cmd_extra_down "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
