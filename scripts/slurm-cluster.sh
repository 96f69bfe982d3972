#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for tests and for trying the slurm profile.
#
#   bash scripts/slurm-cluster.sh start    # configure and start munged, slurmctld, slurmd
#   bash scripts/slurm-cluster.sh status   # sinfo + squeue
#   bash scripts/slurm-cluster.sh stop     # cancel jobs, stop the daemons, remove the state dir
#
# Installs nothing: it needs Debian's `slurm-wlm` (slurmctld, slurmd, client tools) and `munge`
# (`.ci/run` installs them). Runs as root, without systemd: every daemon is started directly with
# its own config, key, socket, pid and log files in a private state dir, so it touches nothing in
# /etc and does not meet a system munged. Clients find the cluster through SLURM_CONF:
#
#   export SLURM_CONF=$SLURM_CLUSTER_DIR/etc/slurm.conf   (start prints this line last)
#
# Inside each job, though, the executor plugin's jobstep runs `srun` with every SLURM_* variable
# removed, SLURM_CONF included; there SLURM commands fall back to /etc/slurm/slurm.conf, then to
# /run/slurm/conf/slurm.conf (where a "configless" slurmd keeps the config it fetched). So start
# links /run/slurm/conf to the state dir's etc/ (the one path outside it; stop removes the link).
# Hence one such cluster per machine: start refuses while another one holds the link, or when a
# system /etc/slurm/slurm.conf exists, which would win over the link.
#
# Settings (environment):
#   SLURM_CLUSTER_DIR    state dir (default /tmp/crossmodal-slurm); `stop` deletes it
#   SLURM_CLUSTER_PORT   slurmctld port (default 6817); slurmd uses the next port
#   SLURM_CLUSTER_KEEP   stop keeps the state dir (logs, job records) when set to 1
#
# The node gets this machine's real CPUs and memory (`slurmd -C`). ProctrackType=proctrack/linuxproc
# and TaskPlugin=task/none need no cgroups (containers, no systemd). No accounting database:
# AccountingStorageType=accounting_storage/none, and finished jobs stay visible to `squeue
# --states=all` and `scontrol show job` for MinJobAge (1 h), which the executor plugin's `squeue`
# status query relies on (`--slurm-status-command squeue`; sacct answers "accounting storage is
# disabled" here). Every finished job is also written by JobCompType=jobcomp/filetxt to
# $SLURM_CLUSTER_DIR/jobcomp.log, which `sacct --completion` lists.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin   # munged, slurmctld, slurmd

DIR=${SLURM_CLUSTER_DIR:-/tmp/crossmodal-slurm}
PORT=${SLURM_CLUSTER_PORT:-6817}
CONF=$DIR/etc/slurm.conf
LINK=/run/slurm/conf
export SLURM_CONF=$CONF

die() { echo "slurm-cluster: $*" >&2; exit 1; }

# kill the process named in a pid file (only that pid), waiting up to 10 s for it to exit
stop_pidfile() {
  local pidfile=$1 pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

start() {
  local missing=()
  for tool in munged mungekey slurmctld slurmd sinfo sbatch squeue scontrol; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing ${missing[*]}: install Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge)"
  [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd starts jobs as the submitting user)"
  if [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    die "a cluster already runs from $DIR (stop it first)"
  fi
  [ -e /etc/slurm/slurm.conf ] && die "/etc/slurm/slurm.conf exists: jobs' srun would read it instead of this cluster's config"
  if [ -L "$LINK" ]; then
    local other
    other=$(readlink "$LINK")
    if [ -f "${other%/etc}/slurmd.pid" ] && kill -0 "$(cat "${other%/etc}/slurmd.pid")" 2>/dev/null; then
      die "another cluster runs on this machine ($LINK -> $other); stop it first"
    fi
    rm -f "$LINK"   # a stale link from a cluster that is gone
  elif [ -e "$LINK" ]; then
    die "$LINK exists and is not a link (a configless slurmd runs here?)"
  fi

  # never delete a folder this script did not make
  if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/.slurm-cluster" ]; then
    die "$DIR exists and was not made by this script: choose another SLURM_CLUSTER_DIR"
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR"
  touch "$DIR/.slurm-cluster"
  mkdir -p "$DIR"/{etc,munge,ctld,spool,log}
  chmod 700 "$DIR" "$DIR/munge"

  # munge: a fresh key and a private socket
  mungekey --create --keyfile="$DIR/munge/munge.key" --force >/dev/null
  chmod 600 "$DIR/munge/munge.key"
  munged --key-file="$DIR/munge/munge.key" --socket="$DIR/munge/munge.socket" \
         --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/log/munged.log" \
         --seed-file="$DIR/munge/munged.seed" --force \
    || die "munged did not start (see $DIR/log/munged.log)"
  for _ in $(seq 50); do [ -S "$DIR/munge/munge.socket" ] && break; sleep 0.1; done

  # the node as slurmd sees it: CPUs, sockets, cores, threads, RealMemory
  local host hw
  host=$(hostname -s)
  hw=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //')
  cat > "$CONF" <<EOF
# Written by scripts/slurm-cluster.sh: a one-node cluster on localhost (state in $DIR).
ClusterName=crossmodal
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups, no systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
MpiDefault=none
SwitchType=switch/none
# memory and cores are consumable: jobs ask for mem_mb/threads and SLURM packs them on the node
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
ReturnToService=2
# no accounting database; finished jobs stay queryable for an hour, and go to a text file
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.log
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

  slurmctld -f "$CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  mkdir -p "$(dirname "$LINK")"
  ln -s "$DIR/etc" "$LINK"
  slurmd -f "$CONF" -N "$host" || die "slurmd did not start (see $DIR/log/slurmd.log)"

  # ready when the node is idle
  local state=""
  for _ in $(seq 60); do
    state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null || true)
    [ "$state" = "idle" ] && break
    sleep 0.5
  done
  if [ "$state" != "idle" ]; then
    tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
    die "node $host is '${state:-unknown}', not idle, after 30 s"
  fi
  sinfo
  echo "export SLURM_CONF=$CONF"
}

stop() {
  if [ -f "$CONF" ] && [ -f "$DIR/slurmctld.pid" ] && command -v scancel >/dev/null 2>&1; then
    # end the jobs of this cluster (their slurmstepd processes outlive slurmd otherwise)
    local jobs
    jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      timeout 10 scancel $jobs 2>/dev/null || true
      for _ in $(seq 50); do
        [ -z "$(timeout 5 squeue -h -t running,completing -o %i 2>/dev/null || true)" ] && break
        sleep 0.2
      done
    fi
  fi
  stop_pidfile "$DIR/slurmd.pid"
  stop_pidfile "$DIR/slurmctld.pid"
  stop_pidfile "$DIR/munge/munged.pid"
  if [ "$(readlink "$LINK" 2>/dev/null || true)" = "$DIR/etc" ]; then
    rm -f "$LINK"
    rmdir "$(dirname "$LINK")" 2>/dev/null || true   # /run/slurm, when empty
  fi
  if [ "${SLURM_CLUSTER_KEEP:-0}" != 1 ] && [ -f "$DIR/.slurm-cluster" ]; then rm -rf "$DIR"; fi
  echo "slurm-cluster: stopped ($DIR)"
}

status() {
  [ -f "$CONF" ] || die "no cluster in $DIR"
  sinfo
  squeue --states=all
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
