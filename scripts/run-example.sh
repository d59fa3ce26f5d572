#!/usr/bin/env bash
# Runs quorate's main job on the bundled example cluster (examples/pve1):
#  1. lint the runbook's corosync.conf (corosync refuses it; its "redundant" ring is not),
#  2. lint the same cluster done right,
#  3. what-if: every partition, node loss and link loss of the fixed cluster,
#  4. model-check quorum safety over time for the fixed cluster.
# Findings make quorate exit 1; this script shows them all and exits 0 unless quorate failed (2).
set -uo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin quorate || exit 2
q=./target/release/quorate
status=0
step() {
  echo
  echo "\$ quorate $*"
  "$q" "$@"
  local rc=$?
  [ "$rc" -ge 2 ] && status=2
  echo "(exit $rc)"
}
step lint examples/pve1/corosync.conf
step lint examples/pve1/corosync.fixed.conf
if "$q" whatif --help >/dev/null 2>&1; then
  step whatif examples/pve1/corosync.fixed.conf -s 'split 1:3'
  step whatif examples/pve1/corosync.fixed.conf --all
fi
if "$q" check --help >/dev/null 2>&1; then
  step check examples/pve1/corosync.fixed.conf
fi
exit $status
