#!/bin/bash
# The Slurm templates against a real Slurm: stands up slurmctld and two slurmd (node names
# n1 and n2 on this one host, `slurmd -N`, a port each) with munge, then runs
# deploy/slurm/submit.sh for real and checks what an operator would:
#
#   1. both nodes qualify (`-- --suite hardware`), each verdict.json lands in the dated run
#      folder, the merge writes fleet/fleet.md and every log is in logs/;
#   2. a node job cancelled before it runs is named missing by the merge (exit 1);
#   3. a node name Slurm does not know is refused (exit 4) with nothing left queued;
#   4. a REPORTS that cannot be created is exit 70 (not a verdict), nothing queued.
#
# Needs root and Debian's slurm-wlm and munge (`apt-get install slurm-wlm munge`); the
# daemons are started by hand (no systemd) under $WORK (default: a temporary folder) and
# stopped at the end. Without systemd or accounting, exit codes are read from `scontrol
# show job`. About 3 minutes on a 2-core machine, most of it the hardware suite.
#
#     sudo deploy/slurm/on-one-machine.sh          # exit 0: every case as expected
#
# Exit 0 every case as expected; 1 a case failed (named above); 4 no root or no Slurm;
# 75 Slurm did not come up here (nothing checked).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
for needed in slurmctld slurmd munged sbatch; do
    command -v "$needed" >/dev/null || {
        echo "$0: $needed not found: apt-get install slurm-wlm munge (as root)" >&2
        exit 4
    }
done
[ "$(id -u)" = 0 ] || { echo "$0: run as root (slurmd starts jobs as their user)" >&2; exit 4; }

work="${WORK:-$(mktemp -d /tmp/stackqual-slurm-XXXX)}"
export SLURM_CONF="$work/slurm.conf"
export STACKQUAL_VENV="${STACKQUAL_VENV:-$repo/.venv}" STACKQUAL_GPUS=0
mkdir -p "$work/ctld" "$work/d-n1" "$work/d-n2"
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 4 ))
cat > "$SLURM_CONF" <<EOF
ClusterName=stackqual
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/ctld
SlurmdSpoolDir=$work/d-%n
SlurmctldPidFile=$work/ctld.pid
SlurmdPidFile=$work/d-%n.pid
SlurmctldLogFile=$work/ctld.log
SlurmdLogFile=$work/d-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
ReturnToService=2
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=n1 NodeHostname=localhost Port=17001 CPUs=$cpus RealMemory=$memory State=UNKNOWN
NodeName=n2 NodeHostname=localhost Port=17002 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=main Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP
EOF

stop() {
    scancel --quiet --user=root 2>/dev/null || true
    for pid in "$work"/ctld.pid "$work"/d-n1.pid "$work"/d-n2.pid; do
        [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
    done
}
trap stop EXIT
mkdir -p /run/munge /var/lib/munge /var/log/munge
[ -f /etc/munge/munge.key ] || mungekey --create
pgrep -x munged >/dev/null || munged --force
slurmctld
slurmd -N n1
slurmd -N n2
for _ in $(seq 30); do
    [ "$(sinfo --noheader --states=idle --format=%D 2>/dev/null)" = 2 ] && break
    sleep 1
done
if [ "$(sinfo --noheader --states=idle --format=%D 2>/dev/null)" != 2 ]; then
    sinfo || true
    tail -n 5 "$work"/*.log >&2 || true
    echo "$0: Slurm did not come up on this machine (its logs above): nothing was" \
         "checked (exit 75)" >&2
    exit 75  # sysexits.h EX_TEMPFAIL: the machine, not the templates
fi
sinfo

failed=0
check() {  # check WHAT CONDITION...
    local what="$1"
    shift
    if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; failed=1; fi
}
wait_for_queue() {
    for _ in $(seq 600); do
        [ -z "$(squeue --noheader)" ] && return 0
        sleep 1
    done
    return 1
}
exit_of() {  # a job's ExitCode, from scontrol (no accounting here)
    scontrol show job "$1" | sed -n 's/.*[^a-zA-Z]ExitCode=\([0-9]*\):.*/\1/p'
}

reports="$work/reports"
echo "== 1. two nodes, then the merge"
started=$(date +%s)
out=$("$here/submit.sh" 'n[1-2]' "$reports" -- --suite hardware --quiet-seconds 0)
echo "$out"
jobs=$(sed -n 's/^n[12]: job \([0-9]*\)$/\1/p' <<< "$out")
merge=$(sed -n 's/^fleet: job \([0-9]*\) .*/\1/p' <<< "$out")
check "the queue drains" wait_for_queue
run=$(ls -d "$reports"/*/ | head -1)
echo "$(( $(date +%s) - started )) s; run folder $run"
for job in $jobs; do echo "node job $job: exit $(exit_of "$job")"; done
echo "merge job $merge: exit $(exit_of "$merge")"
check "each node's verdict.json" test "$(ls "$run"/qualify-*/verdict.json | wc -l)" = 2
check "fleet.md" test -s "$run/fleet/fleet.md"
check "every log in logs/" test "$(ls "$run"/logs/*.out | wc -l)" = 3
head -20 "$run/fleet/fleet.md"

echo "== 2. a node job cancelled before it runs"
out=$("$here/submit.sh" 'n[1-2]' "$reports" --hold -- --suite hardware --quiet-seconds 0)
echo "$out"
n2=$(sed -n 's/^n2: job \([0-9]*\)$/\1/p' <<< "$out")
n1=$(sed -n 's/^n1: job \([0-9]*\)$/\1/p' <<< "$out")
merge=$(sed -n 's/^fleet: job \([0-9]*\) .*/\1/p' <<< "$out")
scancel "$n2"
scontrol release "$n1" "$merge"
check "the queue drains" wait_for_queue
run=$(ls -td "$reports"/*/ | head -1)
echo "merge job $merge: exit $(exit_of "$merge")"
check "n2 named missing" grep -q '\*\*n2\*\*: missing' "$run/fleet/fleet.md"
check "the merge exits 1" test "$(exit_of "$merge")" = 1
grep -A3 -i "missing" "$run/fleet/fleet.md" | head -6

refused() {  # refused EXIT NODELIST REPORTS: submit.sh exits EXIT and queues nothing
    local expected="$1" code=0
    shift
    "$here/submit.sh" "$@" || code=$?
    check "exit $expected" test "$code" = "$expected"
    check "nothing queued" test -z "$(squeue --noheader)"
}

echo "== 3. a name Slurm does not know"
refused 4 'n[1-3]' "$reports"

echo "== 4. a REPORTS that cannot be created"
touch "$work/a-file"
refused 70 'n[1-2]' "$work/a-file/reports"

[ "$failed" = 0 ] && echo "every case as expected" || echo "SOME CASES FAILED (above)"
exit "$failed"
