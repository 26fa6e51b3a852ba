#!/bin/bash
# Qualify every node of a Slurm node list, then merge the fleet:
#
#     deploy/slurm/submit.sh 'gpu[001-064]' /shared/qualify/2026-11-29 [sbatch options...]
#
# One job per node (qualify-node.sbatch, pinned with --nodelist), then one job that runs
# `stackqual fleet` once they have all ended (--dependency=afterany), writing
# fleet.md / fleet.json / the plots to REPORTS/fleet. The scheduler places, requeues and
# accounts the work; nothing here waits or retries.
#
# Why a job per node rather than a job array: every task of an array shares the array's
# --nodelist, so with --exclusive Slurm may run two tasks on one node and none on another;
# a job per node pins each to the node it must qualify.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 NODELIST REPORTS [sbatch options...]" >&2
    exit 4
fi
nodelist="$1"
reports="$2"
shift 2
here="$(cd "$(dirname "$0")" && pwd)"
venv="${STACKQUAL_VENV:-$HOME/stackqual/.venv}"

jobs=()
for node in $(scontrol show hostnames "$nodelist"); do
    id=$(sbatch --parsable --nodelist="$node" --job-name="stackqual-qualify-$node" \
        --export=ALL,STACKQUAL_REPORTS="$reports",STACKQUAL_VENV="$venv" "$@" \
        "$here/qualify-node.sbatch")
    jobs+=("${id%%;*}")
    echo "$node: job ${id%%;*}"
done
if [ ${#jobs[@]} -eq 0 ]; then
    echo "$0: $nodelist names no node" >&2
    exit 4
fi
deps=$(IFS=:; echo "${jobs[*]}")
# The nodes asked for, so that the merge names each one that sent no report (cancelled,
# never run): stackqual fleet --expect-nodes.
expected=$(scontrol show hostnames "$nodelist" | paste -sd, -)
merge=$(sbatch --parsable --job-name=stackqual-fleet --dependency="afterany:$deps" \
    --ntasks=1 --output="$reports/fleet-%j.out" \
    --wrap="'$venv/bin/stackqual' fleet '$reports' --out '$reports/fleet' --expect-nodes '$expected'")
echo "fleet: job ${merge%%;*} writes $reports/fleet/fleet.md when the ${#jobs[@]} node jobs end"
