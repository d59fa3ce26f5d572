#!/usr/bin/env bash
# Issue 12's measure: `quorate apply`'s wall time against its convergence floor on a fresh lab,
# for the issue's plans 1, 2 and 7:
#   form     plan 1: the seed's Phase 3, pve1 formed from bare nodes (examples/pve1/corosync.fixed.conf:
#            3 nodes, 2 knet links, crypto; `lab up --config ... --no-start`, `plan --from none`)
#   add      plan 2: a 4th node added to a running 3-node cluster (`lab up --nodes 3 --spare 1`,
#            `plan --goal 'add-node n4 198.18.0.4'`)
#   restart5 plan 7: a rolling restart of 5 nodes (`lab up --nodes 5`, `plan --goal rolling-restart`)
#
# Each run: a fresh lab, the planner's plan, then `quorate apply --yes --format json` timed; the
# figures are apply's own `done` event (took_ms, floor_ms) and its `step_done` events. Each run
# holds the shared lab lock (/run/quorate/helpers-lab.lock) from `lab up` to `lab down` only, and
# prints the 1-minute load average before and after apply. Root only (the lab); lab addresses only
# (198.18.0.0/15); every lab is removed on exit, also on failure or Ctrl-C.
#
# Output: one line per run:
#   PLAN run N: took T s, floor F s, ratio R; load A -> B; steps: ID:ACTION:MS ...
#
# Usage: scripts/measure-apply.sh [--runs N] [form|add|restart5 ...]   (default: 3 runs of all
#        three; QUORATE=path/to/quorate, default ./target/debug/quorate)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
if [ "${1:-}" = "--runs" ]; then
  runs=$2
  shift 2
fi
plans=("$@")
[ ${#plans[@]} -gt 0 ] || plans=(form add restart5)
q=${QUORATE:-./target/debug/quorate}
[ -x "$q" ] || cargo build --quiet --bin quorate
[ "$(id -u)" = 0 ] || { echo "the lab needs root" >&2; exit 2; }
command -v jq >/dev/null || { echo "needs jq" >&2; exit 2; }
mkdir -p /run/quorate
lock=/run/quorate/helpers-lab.lock

dir=""
cleanup() {
  if [ -n "$dir" ]; then
    if [ -e "$dir/lab.json" ]; then "$q" lab --dir "$dir" down >/dev/null 2>&1 || true; fi
    rm -rf -- "$dir" "$dir.log"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load() { cut -d' ' -f1 /proc/loadavg; }

one_run() { # plan, run number
  local plan=$1 run=$2 to
  dir=/run/quorate/measure-apply-$$-$plan-$run
  case $plan in
    form)
      "$q" lab --dir "$dir" up --config examples/pve1/corosync.fixed.conf --no-start >"$dir.log" 2>&1 \
        || { cat "$dir.log" >&2; return 2; }
      "$q" plan --from none --to "$dir/corosync.conf" -o "$dir/plan.json" >/dev/null
      ;;
    add)
      "$q" lab --dir "$dir" up --nodes 3 --spare 1 >"$dir.log" 2>&1 || { cat "$dir.log" >&2; return 2; }
      "$q" plan --from "$dir/corosync.conf" --goal 'add-node n4 198.18.0.4' -o "$dir/plan.json" >/dev/null
      ;;
    restart5)
      "$q" lab --dir "$dir" up --nodes 5 >"$dir.log" 2>&1 || { cat "$dir.log" >&2; return 2; }
      "$q" plan --from "$dir/corosync.conf" --goal rolling-restart -o "$dir/plan.json" >/dev/null
      ;;
    *)
      echo "unknown plan $plan (form, add, restart5)" >&2
      return 2
      ;;
  esac
  rm -f "$dir.log"
  local before after code=0
  before=$(load)
  "$q" apply "$dir/plan.json" --inventory "$dir/inventory.toml" --yes --format json >"$dir/events" || code=$?
  after=$(load)
  if [ "$code" != 0 ]; then
    echo "$plan run $run: apply exited $code" >&2
    jq -c 'select(.event == "failed")' "$dir/events" >&2 || true
    return 1
  fi
  jq -rs --arg plan "$plan" --arg run "$run" --arg before "$before" --arg after "$after" '
    (map(select(.event == "step_started") | {key: (.step | tostring), value: .action}) | from_entries) as $actions
    | (map(select(.event == "done")) | .[0]) as $done
    | "\($plan) run \($run): took \($done.took_ms / 1000) s, floor \($done.floor_ms / 1000) s, ratio \(($done.took_ms / $done.floor_ms * 1000 | round) / 1000); load \($before) -> \($after); steps: "
      + (map(select(.event == "step_done") | "\(.step):\($actions[.step | tostring]):\(.elapsed_ms)") | join(" "))
  ' "$dir/events"
  "$q" lab --dir "$dir" down >/dev/null 2>&1 || true
  rm -rf -- "$dir"
  dir=""
}

for plan in "${plans[@]}"; do
  for run in $(seq "$runs"); do
    # The lock for this run only (other helpers' lab tests wait for it, and it for them).
    (
      trap cleanup EXIT
      trap 'exit 130' INT TERM
      flock 9
      one_run "$plan" "$run"
    ) 9>"$lock"
  done
done
