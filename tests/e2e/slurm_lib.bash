# A private Slurm on this machine for the e2e scripts (sourced): Debian's
# slurm-wlm (slurmctld + slurmd as root) and munged, each with its own
# socket, ports, state and logs under $SLURM_DIR, one node "localhost" with
# the machine's CPUs and two `gpu` gres backed by fake device files (it only
# drives the scheduling path). No cgroups: linuxproc process tracking and
# no task plugin, as in a container. Accounting is off, so sacct answers
# with an error and lab falls back to scontrol, unless SLURM_ACCOUNTING=1:
# then a private MariaDB (its own datadir, socket and 127.0.0.1 port) backs
# a slurmdbd, the controller stores accounting there
# (accounting_storage/slurmdbd, associations enforced) and sacctmgr creates
# the accounts of SLURM_ACCOUNTS (default "cv101") with root in each.
#
# slurm_start prints nothing on success; on failure it prints why and the
# caller skips. slurm_stop is installed as an EXIT trap. slurm_up does both
# for a script that sourced lib.bash; slurm_submitted reads what a
# `lab grade --slurm --json` announced.

slurm_why_not() {
  [ "$(id -u)" -eq 0 ] || { echo "needs root to start slurmd (it runs jobs as their users)"; return; }
  local p
  for p in slurmctld slurmd munged sbatch squeue scontrol sinfo; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] ||
      { echo "$p is not installed (apt-get install slurmctld slurmd slurm-client munge; make deps)"; return; }
  done
  [ "${SLURM_ACCOUNTING:-0}" = 1 ] || return 0
  for p in slurmdbd mariadbd mariadb-install-db mariadb sacctmgr sacct; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] ||
      { echo "$p is not installed (apt-get install slurmdbd slurm-wlm-mysql-plugin mariadb-server; make deps)"; return; }
  done
  ls /usr/lib/*/slurm-wlm/accounting_storage_mysql.so >/dev/null 2>&1 ||
    { echo "slurmdbd's MySQL plugin is missing (apt-get install slurm-wlm-mysql-plugin; make deps)"; return; }
}

# MariaDB then slurmdbd, on ports base+3 and base+2; the cluster and the
# accounts registered before the controller starts.
slurm_start_dbd() {
  local base=$1 d=$SLURM_DIR/mysql
  mkdir -p "$d/data"
  mariadb-install-db --no-defaults --datadir="$d/data" --user=root --auth-root-authentication-method=normal \
    --skip-test-db >"$SLURM_DIR/log/mariadb-install.out" 2>&1 ||
    { echo "mariadb-install-db failed: $(tail -3 "$SLURM_DIR/log/mariadb-install.out")"; return 1; }
  # Small buffers: the test stores a few dozen job records.
  mariadbd --no-defaults --datadir="$d/data" --user=root --socket="$d/sock" --port=$((base + 3)) \
    --bind-address=127.0.0.1 --pid-file="$d/pid" --log-error="$SLURM_DIR/log/mariadb.log" --skip-name-resolve \
    --innodb-buffer-pool-size=16M --innodb-log-file-size=8M --skip-log-bin >/dev/null 2>&1 &
  local i
  for i in $(seq 1 100); do [ -S "$d/sock" ] && break; sleep 0.1; done
  [ -S "$d/sock" ] || { echo "mariadbd did not start: $(tail -3 "$SLURM_DIR/log/mariadb.log")"; return 1; }
  mariadb --no-defaults -S "$d/sock" -u root -e "CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'labtest';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" >"$SLURM_DIR/log/mariadb-grant.out" 2>&1 ||
    { echo "MariaDB refused the slurm user: $(tail -3 "$SLURM_DIR/log/mariadb-grant.out")"; return 1; }
  cat >"$SLURM_DIR/slurmdbd.conf" <<DBDEOF
AuthType=auth/munge
AuthInfo=socket=$SLURM_DIR/munge/sock
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$((base + 2))
SlurmUser=root
PidFile=$SLURM_DIR/slurmdbd.pid
LogFile=$SLURM_DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$((base + 3))
StorageUser=slurm
StoragePass=labtest
StorageLoc=slurm_acct_db
DBDEOF
  chmod 600 "$SLURM_DIR/slurmdbd.conf"
  # slurmdbd reads slurmdbd.conf beside $SLURM_CONF.
  slurmdbd >"$SLURM_DIR/log/slurmdbd.out" 2>&1 ||
    { echo "slurmdbd did not start: $(tail -3 "$SLURM_DIR/log/slurmdbd.out")"; return 1; }
  # Each failed try can block for MessageTimeout: bounded by timeout(1).
  for i in $(seq 1 50); do timeout 5 sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
  timeout 5 sacctmgr -n list cluster >/dev/null 2>&1 ||
    { echo "slurmdbd does not answer: $(tail -3 "$SLURM_DIR/log/slurmdbd.log")"; return 1; }
  local a out=$SLURM_DIR/log/sacctmgr.out
  sacctmgr -i add cluster labtest >"$out" 2>&1 || { echo "sacctmgr add cluster: $(tail -2 "$out")"; return 1; }
  for a in ${SLURM_ACCOUNTS:-cv101}; do
    { sacctmgr -i add account "$a" Cluster=labtest Description=lab-test Organization=lab &&
      sacctmgr -i add user root Account="$a" Cluster=labtest; } >>"$out" 2>&1 ||
      { echo "sacctmgr could not add account $a: $(tail -2 "$out")"; return 1; }
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
$(if [ "${SLURM_MEMKILL:-0}" = 1 ]; then
  printf 'ProctrackType=proctrack/cgroup\nTaskPlugin=task/cgroup\nJobAcctGatherType=jobacct_gather/cgroup\n'
else printf 'ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nJobAcctGatherType=jobacct_gather/none\n'; fi)
$(if [ "${SLURM_ACCOUNTING:-0}" = 1 ]; then
  printf 'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=127.0.0.1\n'
  printf 'AccountingStoragePort=%s\nAccountingStorageEnforce=associations\n' $((base + 2))
  # The clients' connection to slurmdbd ignores AuthInfo: without this they
  # ask the system's munged (/run/munge), which is not ours.
  printf 'AccountingStoragePass=%s\n' "$SLURM_DIR/munge/sock"
else echo AccountingStorageType=accounting_storage/none; fi)
JobCompType=jobcomp/none
SelectType=select/cons_tres
$(if [ "${SLURM_MEMKILL:-0}" = 1 ]; then
  # Memory is a resource here, or no step has a limit to be killed over.
  printf 'SelectTypeParameters=CR_Core_Memory\nDefMemPerCPU=%s\n' $((mem / cpus))
else echo SelectTypeParameters=CR_Core; fi)
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
  printf 'CgroupPlugin=cgroup/v1\nConstrainRAMSpace=yes\nConstrainSwapSpace=yes\nAllowedSwapSpace=0\n' >"$SLURM_DIR/cgroup.conf"
  export SLURM_CONF=$SLURM_DIR/slurm.conf
  munged --force --socket="$SLURM_DIR/munge/sock" --key-file="$SLURM_DIR/munge/key" \
    --pid-file="$SLURM_DIR/munge/pid" --log-file="$SLURM_DIR/log/munged.log" \
    --seed-file="$SLURM_DIR/munge/seed" >"$SLURM_DIR/log/munged.out" 2>&1 ||
    { echo "munged did not start: $(tail -3 "$SLURM_DIR/log/munged.out")"; return 1; }
  trap slurm_stop EXIT
  if [ "${SLURM_ACCOUNTING:-0}" = 1 ]; then slurm_start_dbd "$base" || return 1; fi
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
  for f in slurmd.pid slurmctld.pid slurmdbd.pid mysql/pid munge/pid; do
    pid=$(cat "$SLURM_DIR/$f" 2>/dev/null || true)
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  sleep 0.5
  for f in slurmd.pid slurmctld.pid slurmdbd.pid mysql/pid munge/pid; do
    pid=$(cat "$SLURM_DIR/$f" 2>/dev/null || true)
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  return 0
}

# slurm_up DIR: Slurm started in DIR, or the script skips (77) saying why.
slurm_up() {
  local why; why=$(slurm_why_not)
  [ -z "$why" ] || skip "slurm-wlm cannot run here: $why"
  slurm_start "$1" >"$1.why" 2>&1 || skip "slurm-wlm did not start here: $(cat "$1.why")"
}

# slurm_copies BASE OUT N: OUT/s000.tar.gz ... N archives of the unpacked
# submission BASE, each with its own student id.
slurm_copies() {
  /usr/bin/python3 - "$@" <<'EOF' || fail "making the submissions failed"
import io, json, os, sys, tarfile
base, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
files = sorted(os.path.relpath(os.path.join(r, f), base) for r, _, fs in os.walk(base) for f in fs)
blobs = {f: open(os.path.join(base, f), "rb").read() for f in files}
for i in range(n):
    s = json.loads(blobs["submission.json"]); s["student"] = f"s{i:03d}"
    with tarfile.open(f"{out}/s{i:03d}.tar.gz", "w:gz", compresslevel=1) as t:
        for f in files:
            data = json.dumps(s).encode() if f == "submission.json" else blobs[f]
            ti = tarfile.TarInfo("./" + f); ti.size = len(data); ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
EOF
}

# slurm_submitted FILE KEY: KEY ("job", "collect", "spool") of the
# "submitted" event that a `lab grade --slurm --json` writes to FILE,
# waiting up to 10 s for it; fails the script when none comes.
slurm_submitted() {
  local i
  for i in $(seq 1 100); do grep -q '"submitted"' "$1" 2>/dev/null && break; sleep 0.1; done
  /usr/bin/python3 -c 'import json, sys
print(next(json.loads(l)[sys.argv[2]] for l in open(sys.argv[1]) if "\"submitted\"" in l))' "$1" "$2" 2>/dev/null ||
    fail "no submitted event in $1: $(cat "$1" "${1%.json}.err" 2>/dev/null | tail -5)"
}
