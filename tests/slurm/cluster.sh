# A one-node Slurm cluster in a scratch folder (slurmctld + slurmd, munge), for the Slurm test
# (tests/slurm/run.sh) and the Slurm timing script (scripts/slurm-scale.sh). Source it, then:
#
#   slurm_install            apt-get install slurm-wlm and munge when missing (root)
#   slurm_start DIR          writes DIR/etc/slurm.conf, starts munged, slurmctld, slurmd with
#                            their state, logs and pids under DIR, exports SLURM_CONF and waits
#                            for the node; returns 1 (saying why) if it does not come up
#   slurm_stop DIR           stops the three daemons
#   slurm_job_state JOB      the job's state as scontrol shows it (COMPLETED, FAILED, ...)
#
# SLURM_TEST_PORT (default 16817) and the next port are slurmctld's and slurmd's.

slurm_install() {
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        echo "== installing slurm-wlm and munge"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    fi
}

slurm_start() {
    local d=$1
    mkdir -p "$d/etc" "$d/spool/ctld" "$d/spool/d" "$d/log" "$d/run" "$d/munge"
    dd if=/dev/urandom bs=1 count=1024 of="$d/munge/munge.key" status=none
    chmod 600 "$d/munge/munge.key"
    munged --force --key-file="$d/munge/munge.key" --socket="$d/munge/socket" \
        --pid-file="$d/run/munged.pid" --log-file="$d/log/munged.log" --seed-file="$d/munge/seed" ||
        { echo "munged did not start" >&2; return 1; }
    local host node port=${SLURM_TEST_PORT:-16817}
    host=$(hostname -s)
    node=$(slurmd -C | head -n 1)
    cat > "$d/etc/slurm.conf" <<CONF
ClusterName=assaytest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/socket
CredType=cred/munge
StateSaveLocation=$d/spool/ctld
SlurmdSpoolDir=$d/spool/d
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
SlurmctldPort=$port
SlurmdPort=$((port + 1))
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
$node State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
    sed -i 's/ UpTime=.*//' "$d/etc/slurm.conf"
    export SLURM_CONF=$d/etc/slurm.conf
    slurmctld -i -f "$SLURM_CONF" || { echo "slurmctld did not start" >&2; return 1; }
    slurmd -f "$SLURM_CONF" || { echo "slurmd did not start" >&2; return 1; }
    for _ in $(seq 60); do
        sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' && return 0
        sleep 1
    done
    echo "the node did not come up: $(sinfo 2>&1)" >&2
    return 1
}

slurm_stop() {
    local d=$1 p
    for p in slurmd slurmctld munged; do
        [ -f "$d/run/$p.pid" ] && kill "$(cat "$d/run/$p.pid")" 2>/dev/null || true
    done
    sleep 1
}

slurm_job_state() {
    scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2
}
