# A private Slurm on this machine for the e2e scripts (sourced): Debian's
# slurm-wlm (slurmctld + slurmd as root) and munged, each with its own
# socket, ports, state and logs under $SLURM_DIR, one node "localhost" with
# the machine's CPUs and two `gpu` gres backed by fake device files (it only
# drives the scheduling path). No cgroups: linuxproc process tracking and
# no task plugin, as in a container. Accounting is off, so sacct answers
# with an error and lab falls back to scontrol.
#
# slurm_start prints nothing on success; on failure it prints why and the
# caller skips. slurm_stop is installed as an EXIT trap.

slurm_why_not() {
  [ "$(id -u)" -eq 0 ] || { echo "needs root to start slurmd (it runs jobs as their users)"; return; }
  local p
  for p in slurmctld slurmd munged sbatch squeue scontrol sinfo; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] ||
      { echo "$p is not installed (apt-get install slurmctld slurmd slurm-client munge; make deps)"; return; }
  done
}

slurm_start() {
  SLURM_DIR=$1
  mkdir -p "$SLURM_DIR"/{state,spool,log,munge}
  export PATH=$PATH:/usr/sbin
  # Ports of our own, from the pid, so two test runs (or a real Slurm) never meet.
  local base=$(( 20000 + ($$ % 2000) * 10 ))
  local cpus; cpus=$(nproc)
  local mem; mem=$(awk '/MemTotal/ {print int($2/1024/2)}' /proc/meminfo)
  : >"$SLURM_DIR/fake-gpu0"; : >"$SLURM_DIR/fake-gpu1"
  dd if=/dev/urandom of="$SLURM_DIR/munge/key" bs=1024 count=1 status=none
  chmod 700 "$SLURM_DIR/munge"; chmod 600 "$SLURM_DIR/munge/key"
  cat >"$SLURM_DIR/slurm.conf" <<EOF
ClusterName=labtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/munge/sock
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool/%n
SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
GresTypes=gpu
ReturnToService=2
MinJobAge=600
KillWait=2
OverTimeLimit=0
MessageTimeout=10
SlurmdTimeout=60
InactiveLimit=0
MaxArraySize=10001
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  echo "NodeName=localhost Name=gpu File=$SLURM_DIR/fake-gpu[0-1]" >"$SLURM_DIR/gres.conf"
  export SLURM_CONF=$SLURM_DIR/slurm.conf
  munged --force --socket="$SLURM_DIR/munge/sock" --key-file="$SLURM_DIR/munge/key" \
    --pid-file="$SLURM_DIR/munge/pid" --log-file="$SLURM_DIR/log/munged.log" \
    --seed-file="$SLURM_DIR/munge/seed" >"$SLURM_DIR/log/munged.out" 2>&1 ||
    { echo "munged did not start: $(tail -3 "$SLURM_DIR/log/munged.out")"; return 1; }
  trap slurm_stop EXIT
  slurmctld -f "$SLURM_CONF" >"$SLURM_DIR/log/slurmctld.out" 2>&1 ||
    { echo "slurmctld did not start: $(tail -3 "$SLURM_DIR/log/slurmctld.out")"; return 1; }
  slurmd -f "$SLURM_CONF" -N localhost >"$SLURM_DIR/log/slurmd.out" 2>&1 ||
    { echo "slurmd did not start: $(tail -3 "$SLURM_DIR/log/slurmd.out" "$SLURM_DIR/log/slurmd.log")"; return 1; }
  local i
  for i in $(seq 1 60); do
    if sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; then return 0; fi
    sleep 0.5
  done
  echo "the node never became idle: $(sinfo 2>&1 | tail -2); $(tail -3 "$SLURM_DIR/log/slurmd.log")"
  return 1
}

slurm_stop() {
  [ -n "${SLURM_DIR:-}" ] || return 0
  local f pid
  for f in slurmd.pid slurmctld.pid munge/pid; do
    pid=$(cat "$SLURM_DIR/$f" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  sleep 0.5
  for f in slurmd.pid slurmctld.pid munge/pid; do
    pid=$(cat "$SLURM_DIR/$f" 2>/dev/null || true)
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  return 0
}
