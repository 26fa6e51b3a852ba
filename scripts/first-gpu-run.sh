#!/usr/bin/env bash
# The first run on a new GPU, in one command, on the node's own stack: nothing is
# installed, the checkout is run as it is, with the interpreter that is there. Two stages,
# each a `stackqual qualify --record` with its own verdict and folder, so that a short
# machine window still ends with a verdict:
#
#   stage 1 (STACKQUAL_FIRST_RUN_STAGE1_S, default 180 s): the profile, the health
#     preflight (NVML), the hardware against its datasheet peak, the SDPA dispatch table,
#     one compile parity row and one compile speed row;
#   stage 2 (the rest of STACKQUAL_FIRST_RUN_LIMIT_S, default 480 s in all): the rest of
#     the qualification tier (`-m gpu`).
#
# Each passing check's baseline is written as soon as its test passes and each check is
# streamed as it completes, so a stage cut at its limit keeps everything measured before.
# Last, a one-screen table: each stage's exit code, checks passed / failed / not judged,
# the dispatch seen, the hardware's shares of peak, and where the files are.
#
#   scripts/first-gpu-run.sh [OUT_DIR]
#   PYTHON=/opt/venv/bin/python3 scripts/first-gpu-run.sh       # another interpreter
#   STACKQUAL_FIRST_RUN_DEVICE=cpu scripts/first-gpu-run.sh     # a rehearsal on the CPU rows
#   STACKQUAL_FIRST_RUN_BASELINES=/tmp/b scripts/first-gpu-run.sh  # record elsewhere
#
# Exit status: stage 2's (stage 1's when stage 2 did not run); 124 a stage cut at its limit.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 4

PYTHON=${PYTHON:-python3}
OUT=${1:-first-gpu-run-$(date -u +%Y%m%dT%H%M%SZ)}
LIMIT_S=${STACKQUAL_FIRST_RUN_LIMIT_S:-480}
STAGE1_S=${STACKQUAL_FIRST_RUN_STAGE1_S:-180}
DEVICE=${STACKQUAL_FIRST_RUN_DEVICE:-cuda}
BASELINES=${STACKQUAL_FIRST_RUN_BASELINES:-baselines}

case "$DEVICE" in
  cuda)
    MARK="gpu"
    ROW="mlp-inductor-reduce-overhead-bf16-cuda-inference" ;;
  cpu)
    MARK="not gpu and not gpu_full"
    ROW="mlp-inductor-default-fp32-cpu-inference" ;;
  *) echo "first-gpu-run: STACKQUAL_FIRST_RUN_DEVICE=$DEVICE: expected cuda or cpu" >&2
     exit 4 ;;
esac
STAGE1="test_peak or test_backend_follows_the_rules_and_the_profile_table or \
(test_compiled_matches_eager_against_fp64 and $ROW) or \
(test_speedup_holds_against_baseline and $ROW)"

if ! PROFILE=$("$PYTHON" -c "from stackqual.profile import detect_profile; \
print(detect_profile())"); then
  echo "first-gpu-run: $PYTHON could not import torch and the checkout's stackqual" \
       "(set PYTHON to the interpreter that has torch)" >&2
  exit 4
fi
case "$DEVICE:$PROFILE" in
  cuda:cuda-*|cpu:cpu-*) ;;
  *) echo "first-gpu-run: this machine's profile is $PROFILE, not a CUDA one:" \
          "nothing to record for the GPU tier (torch.cuda.is_available() is False)" >&2
     exit 4 ;;
esac
mkdir -p "$OUT" || exit 4
echo "first-gpu-run: profile $PROFILE, $PYTHON, limit ${LIMIT_S} s (stage 1 ${STAGE1_S} s)," \
     "output in $OUT"

# stage NAME SECONDS QUALIFY-ARGS... -- PYTEST-ARGS...: one qualify run under a limit;
# SIGTERM at the limit (qualify stops its suites and writes an "interrupted" verdict),
# SIGKILL 20 s later.
stage() {
  local name=$1 seconds=$2
  shift 2
  timeout --signal=TERM --kill-after=20 "$seconds" \
    "$PYTHON" -m stackqual qualify --record --report-dir "$OUT/$name" \
    --baselines-dir "$BASELINES" "$@" \
    2>&1 | tee "$OUT/$name.log"
  return "${PIPESTATUS[0]}"
}

start=$(date +%s)
stage stage1 "$STAGE1_S" --suite hardware --suite attention --suite compile \
  -- -m "$MARK" -k "$STAGE1"
status1=$?
rows=("stage1=$OUT/stage1:$status1")
status=$status1
left=$(( LIMIT_S - ($(date +%s) - start) ))
if [ "$left" -ge 30 ]; then
  stage stage2 "$left" -- -m "$MARK" -k "not ($STAGE1)"
  status=$?
  rows+=("stage2=$OUT/stage2:$status")
else
  echo "first-gpu-run: ${left} s left after stage 1: stage 2 not started"
fi
elapsed=$(( $(date +%s) - start ))

if [ -d "$BASELINES/$PROFILE" ]; then
  cp -r "$BASELINES/$PROFILE" "$OUT/baselines-$PROFILE"
fi
{
  echo
  echo "first-gpu-run: profile $PROFILE, ${elapsed} s of ${LIMIT_S} s"
  "$PYTHON" -m stackqual.first_run "${rows[@]}"
  echo
  echo "baselines: $BASELINES/$PROFILE (a copy in $OUT/baselines-$PROFILE): review, commit"
} | tee "$OUT/SUMMARY.txt"
exit "$status"
