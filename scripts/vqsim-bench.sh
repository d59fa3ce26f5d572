#!/usr/bin/env bash
# Runs the vqsim differential test and prints its figures: scenarios, steps compared,
# agreement, exclusions, and the time per scenario step of corosync-vqsim (wall time, with
# settling) next to quorate's engine (ClusterState::apply) on the same scenarios.
#
# Usage: scripts/vqsim-bench.sh [--release] [CASES] [SEED]
#   --release  build the test binary optimised (the engine's figure is then a release one;
#              vqsim's barely changes, it is dominated by its 10 ms sync timer and settling)
#   CASES      number of generated scenarios (default 60), SEED the generator seed (default 7)
# Needs corosync-vqsim (apt-get install corosync-vqsim). Prints nothing else on success.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=()
if [ "${1:-}" = "--release" ]; then
  profile=(--release)
  shift
fi
export QUORATE_VQSIM_CASES="${1:-60}"
export QUORATE_VQSIM_SEED="${2:-7}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test "${profile[@]}" --quiet --test it vqsim::engine_agrees_with_vqsim_on_generated_scenarios \
  -- --nocapture >"$log" 2>&1 || status=$?
grep -E '^(vqsim differential|vqsim step time|Q6 node results)' "$log" || true
if [ "$status" -ne 0 ]; then
  echo "vqsim-bench: the differential test failed; its output:" >&2
  cat "$log" >&2
fi
exit "$status"
