#!/bin/bash
# Qualify every node of a Slurm node list, then merge the fleet:
#
#     deploy/slurm/submit.sh NODELIST REPORTS [sbatch options...] [-- qualify arguments...]
#     deploy/slurm/submit.sh 'gpu[001-064]' /shared/qualify -p h100 -A infra -- --suite hardware
#
# Each submission writes into its own dated run folder, REPORTS/<UTC time>/ (two
# submissions never merge): one job per node (qualify-node.sbatch, pinned with
# --nodelist), then one job that runs `stackqual fleet` on that folder once they have all
# ended (--dependency=afterany), writing fleet/fleet.md. Every job's log is in logs/ of
# the run folder. The sbatch options (partition, account, QoS, time) go to every job, the
# merge included; the arguments after `--` go to `stackqual qualify` on each node.
#
# Environment:
#   STACKQUAL_GPUS      GPUs per node (default 8): each node job asks for --gres=gpu:N
#                       and qualifies each GPU (--each-gpu --expect-gpus N); 0 qualifies
#                       CPU nodes (no --gres, no --each-gpu).
#   STACKQUAL_VENV      the environment with stackqual installed, on a shared filesystem.
#   STACKQUAL_DEADLINE  sbatch --deadline of the node jobs (default now+1days): Slurm ends
#                       a node job that cannot run by then (a node drained after the
#                       check below), so the merge is never blocked forever.
#
# Before anything is submitted, every name is checked against `sinfo`: an unknown name
# is a usage error (exit 4, nothing submitted); a node that is down, drained or failing
# is not submitted, said here, and named missing by the merge. If a submission fails
# midway, the jobs already submitted are cancelled (exit 3).
#
# Exit: 0 submitted; 2 no node could be submitted (all down or drained); 3 sbatch failed
# (what was submitted is cancelled); 4 bad usage; 70 the run folder cannot be created.
#
# Why a job per node rather than a job array: every task of an array shares the array's
# --nodelist, so with --exclusive Slurm may run two tasks on one node and none on another;
# a job per node pins each to the node it must qualify.
set -euo pipefail

usage() {
    echo "usage: $0 NODELIST REPORTS [sbatch options...] [-- qualify arguments...]" >&2
    exit 4
}
[ $# -ge 2 ] || usage
nodelist="$1"
reports="$2"
shift 2
sbatch_options=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    sbatch_options+=("$1")
    shift
done
[ $# -gt 0 ] && shift  # the `--`
qualify_arguments=("$@")

here="$(cd "$(dirname "$0")" && pwd)"
venv="${STACKQUAL_VENV:-$HOME/stackqual/.venv}"
gpus="${STACKQUAL_GPUS:-8}"
deadline="${STACKQUAL_DEADLINE:-now+1days}"
case "$gpus" in
    '' | *[!0-9]*) echo "$0: STACKQUAL_GPUS must be a whole number, not '$gpus'" >&2; exit 4 ;;
esac

# Every name asked for, and the state Slurm knows it in ("idle", "drain", ...).
asked=$(scontrol show hostnames "$nodelist" 2>/dev/null) || true
[ -n "$asked" ] || { echo "$0: '$nodelist' names no node" >&2; exit 4; }
known=$(sinfo --noheader --Node --nodes="$nodelist" --format="%N %t" 2>/dev/null | sort -u) \
    || true
unknown=()
nodes=()
for node in $asked; do
    state=$(awk -v n="$node" '$1 == n {print $2; exit}' <<< "$known")
    if [ -z "$state" ]; then
        unknown+=("$node")
    elif [[ "$state" =~ ^(down|drain|drng|drained|fail|failg|maint|inval|future|unk) ]]; then
        echo "$node: not submitted, the node is $state (the merge names it missing)" >&2
    else
        nodes+=("$node")
    fi
done
if [ ${#unknown[@]} -gt 0 ]; then
    echo "$0: not Slurm nodes (sinfo does not know them): ${unknown[*]}; nothing submitted" >&2
    exit 4
fi
if [ ${#nodes[@]} -eq 0 ]; then
    echo "$0: no node of '$nodelist' can run a job now; nothing submitted (not judged)" >&2
    exit 2
fi

# This submission's own folder: REPORTS/<UTC time>[-N].
stamp=$(date -u +%Y%m%dT%H%M%SZ)
run="$reports/$stamp"
n=1
while ! { mkdir -p "$reports" 2>/dev/null && mkdir "$run" 2>/dev/null; }; do
    if [ ! -d "$reports" ] || [ ! -w "$reports" ] || [ $n -ge 100 ]; then
        echo "$0: cannot create a run folder in $reports (not writable here?); nothing" \
             "submitted (exit 70: not a verdict)" >&2
        exit 70
    fi
    n=$((n + 1))
    run="$reports/$stamp-$n"
done
mkdir "$run/logs"

gres=()
[ "$gpus" -gt 0 ] && gres=(--gres="gpu:$gpus")
jobs=()
cancel_submitted() {
    echo "$0: sbatch failed; cancelling the ${#jobs[@]} jobs already submitted" >&2
    [ ${#jobs[@]} -eq 0 ] || scancel "${jobs[@]}" || true
    exit 3
}
for node in "${nodes[@]}"; do
    id=$(sbatch --parsable --nodelist="$node" --job-name="stackqual-qualify-$node" \
        --output="$run/logs/%x-%j.out" --deadline="$deadline" "${gres[@]}" \
        "${sbatch_options[@]}" \
        --export=ALL,STACKQUAL_REPORTS="$run",STACKQUAL_VENV="$venv",STACKQUAL_GPUS="$gpus" \
        "$here/qualify-node.sbatch" "${qualify_arguments[@]}") || cancel_submitted
    jobs+=("${id%%;*}")
    echo "$node: job ${id%%;*}"
done
deps=$(IFS=:; echo "${jobs[*]}")
# Every node asked for, submitted or not, so that the merge names each one that sent no
# report (down, drained, cancelled, past its deadline): stackqual fleet --expect-nodes.
expected=$(paste -sd, - <<< "$asked")
merge=$(sbatch --parsable "${sbatch_options[@]}" --job-name=stackqual-fleet \
    --dependency="afterany:$deps" --ntasks=1 --nodes=1 --output="$run/logs/fleet-%j.out" \
    --wrap="'$venv/bin/stackqual' fleet '$run' --out '$run/fleet' --expect-nodes '$expected'") \
    || cancel_submitted
echo "fleet: job ${merge%%;*} writes $run/fleet/fleet.md when the ${#jobs[@]} node jobs end;" \
     "logs in $run/logs"
