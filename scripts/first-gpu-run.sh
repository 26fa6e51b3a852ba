#!/usr/bin/env bash
# The first run on a new GPU profile, in one command: the qualification tier
# (`pytest -m gpu`) under a wall-clock limit, this profile's baselines recorded for every
# check that passed, the run report written, and both copied into one folder to review and
# commit. Sized for a 15-minute machine lease with room for a rerun: the tier is budgeted
# at six minutes (selftests/gpu_budget.py), the limit defaults to eight.
#
#   scripts/first-gpu-run.sh [OUT_DIR]      (STACKQUAL_FIRST_RUN_LIMIT_S=480 by default)
#
# At the limit pytest is interrupted (SIGINT), which still ends the session: what passed
# until then is recorded, the report is written, and the exit status says it was cut short.
set -uo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
OUT=${1:-first-gpu-run-$(date -u +%Y%m%dT%H%M%SZ)}
LIMIT_S=${STACKQUAL_FIRST_RUN_LIMIT_S:-480}
PROFILE=$("$PYTHON" -c "from stackqual.profile import detect_profile; print(detect_profile())")
case "$PROFILE" in
  cuda-*) ;;
  *) echo "first-gpu-run: this machine's profile is $PROFILE, not a CUDA one: nothing to" \
          "record for the GPU tier (torch.cuda.is_available() is False)" >&2; exit 4 ;;
esac
mkdir -p "$OUT"
echo "first-gpu-run: profile $PROFILE, limit ${LIMIT_S} s, output in $OUT"

start=$(date +%s)
timeout --signal=INT --kill-after=60 "$LIMIT_S" \
  "$PYTHON" -m pytest suites -m gpu --update-baselines -p no:cacheprovider \
  --report-dir "$OUT/report" 2>&1 | tee "$OUT/pytest.log"
status=${PIPESTATUS[0]}
elapsed=$(( $(date +%s) - start ))

if [ -d "baselines/$PROFILE" ]; then
  cp -r "baselines/$PROFILE" "$OUT/baselines-$PROFILE"
fi
{
  echo "profile: $PROFILE"
  echo "wall time: ${elapsed} s (limit ${LIMIT_S} s)"
  echo "pytest exit status: $status$([ "$status" = 124 ] && echo ' (cut at the limit)')"
  echo "baselines: baselines/$PROFILE (copied to $OUT/baselines-$PROFILE); commit them"
  echo "report: $(ls "$OUT"/report/*.md 2>/dev/null | head -1)"
} | tee "$OUT/SUMMARY.txt"
exit "$status"
