#!/usr/bin/env bash
# Issue 12's "same work by hand, for comparison": the seed runbook's way of forming pve1
# (examples/runbooks/pve1-phase3.md, steps 1 to 6 and 9: config and key on node 1, restart it,
# `sleep 5`, look; copy both to node 2, start it, `sleep 5`, look; the same for node 3; look
# at everything; enable corosync) typed by hand on a fresh quorate lab, then `quorate apply`
# of the planner's plan for the same target (examples/pve1/corosync.fixed.conf: 3 nodes,
# 2 knet links, crypto; issue 12's plan 1) on another fresh lab.
#
# Prints per run: the wall time of each way; at each of the runbook's checks, what it showed
# (the lines the runbook tells the operator to look at), whether that is what the runbook
# says to expect there, and what every node really was at that moment (corosync-quorumtool on
# each); how long after the runbook's last check every node really showed the 3-node quorate
# membership; for apply its `took` and `convergence floor`; the 1-minute load average.
#
# Adaptations to the lab (no Proxmox there): `pvecm create` becomes writing the target
# config and `corosync-keygen` on node 1; `pvecm status` becomes `corosync-quorumtool -s`
# (pvecm status prints corosync-quorumtool's figures); the authkey goes node to node through
# this script's pipe (ssh node1 cat | ssh node2 cat >), not through /tmp and scp as the
# runbook does (that leaves the key in /tmp on three machines, and lab nodes share the host's
# /tmp). Each by-hand command is its own `ssh root@node ...`, as typed. Root only (the lab);
# lab addresses only (198.18.0.0/15). Each run holds the shared lab lock
# (/run/quorate/helpers-lab.lock) for its two labs only; both labs are removed on exit, also
# on failure or Ctrl-C.
#
# Usage: scripts/byhand-form.sh [--runs N]   (default 3; QUORATE=path/to/quorate)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
if [ "${1:-}" = "--runs" ]; then runs=$2; fi
q=${QUORATE:-./target/debug/quorate}
[ -x "$q" ] || cargo build --quiet --bin quorate
[ "$(id -u)" = 0 ] || { echo "the lab needs root" >&2; exit 2; }
target=examples/pve1/corosync.fixed.conf
mkdir -p /run/quorate
lock=/run/quorate/helpers-lab.lock

hand="" auto=""
cleanup() {
  for dir in "$hand" "$auto"; do
    [ -n "$dir" ] || continue
    if [ -e "$dir/lab.json" ]; then "$q" lab --dir "$dir" down >/dev/null 2>&1 || true; fi
    rm -rf -- "$dir" "$dir.log"
  done
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
load() { cut -d' ' -f1 /proc/loadavg; }

ssh_node() { # slot, command...
  local slot=$1
  shift
  ssh -F "$hand/ssh/config" -i "$hand/ssh/id_ed25519" -o UserKnownHostsFile="$hand/ssh/known_hosts" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes "root@198.18.0.$slot" "$@"
}
# The Nodes and Quorate lines of corosync-quorumtool -s on a node (what `pvecm status` shows).
# quorumtool exits non-zero when not quorate: that is an answer, not a failure. (stderr not
# into the pipe: the lab's ProxyCommand keeps it open after ssh exits.)
seen() {
  { ssh_node "$1" corosync-quorumtool -s 2>/dev/null || true; } \
    | awk -F': *' '/^Nodes:/ { n = $2 } /^Quorate:/ { q = $2 } END { printf "Nodes %s, Quorate %s", (n == "" ? "-" : n), (q == "" ? "-" : q) }'
}
# What every node was at this moment.
truth() { echo "n1 [$(seen 1)] n2 [$(seen 2)] n3 [$(seen 3)]"; }
checks=()
check() { # label, slot, expected (Nodes/Quorate as `seen` prints them)
  local shown
  shown=$(seen "$2")
  if [ "$shown" = "$3" ]; then
    checks+=("$1 on node$2 showed \"$shown\": as the runbook expects; all: $(truth)")
  else
    checks+=("$1 on node$2 showed \"$shown\": NOT what the runbook expects (\"$3\"); all: $(truth)")
  fi
}
# A check the runbook makes with corosync-cfgtool -s ("Verify", "Check quorum"): what it can
# show. cfgtool -s prints the local node's link status per peer; it has no quorum or
# membership line.
cfgtool_check() { # label, slot
  local out
  out=$({ ssh_node "$2" corosync-cfgtool -s 2>/dev/null || true; } | tr -s ' ')
  local quorum="no Quorate/Nodes line (it cannot show quorum)"
  if printf '%s' "$out" | grep -qi quorat; then quorum="a quorum line"; fi
  local links
  links=$(printf '%s\n' "$out" | awk '/nodeid:/ { count[$NF]++ } END { for (s in count) { printf "%s%s %d", sep, s, count[s]; sep = ", " } }')
  checks+=("$1 on node$2: corosync-cfgtool -s showed per-link peer status [$links] and $quorum; all: $(truth)")
}

by_hand() { # run
  hand=/run/quorate/byhand-hand-$$-$1
  "$q" lab --dir "$hand" up --config "$target" --no-start >"$hand.log" 2>&1 || { cat "$hand.log" >&2; exit 2; }
  rm -f "$hand.log"
  checks=()
  local began settle_began all
  began=$(now)
  # Steps 1-2: node 1 gets the config and a key (pvecm create), corosync restarted, `sleep 5`,
  # then `pvecm status` (expected there: Nodes: 1) and `corosync-cfgtool -s` ("Verify").
  ssh_node 1 'cat > /etc/corosync/corosync.conf' <"$hand/corosync.conf"
  ssh_node 1 corosync-keygen -l >/dev/null 2>&1
  ssh_node 1 systemctl restart corosync
  sleep 5
  check "step 2, pvecm status after sleep 5" 1 "Nodes 1, Quorate No"
  cfgtool_check "step 2, 'Verify' after sleep 5" 1
  # Step 3: the config and the key to nodes 2 and 3.
  for slot in 2 3; do
    ssh_node 1 cat /etc/corosync/corosync.conf | ssh_node "$slot" 'cat > /etc/corosync/corosync.conf'
    ssh_node 1 cat /etc/corosync/authkey | ssh_node "$slot" 'umask 077; cat > /etc/corosync/authkey'
  done
  # Steps 4-5: on each, stop, chmod 400, start, `sleep 5`, `pvecm status` ("Nodes: 2", "3").
  for slot in 2 3; do
    ssh_node "$slot" systemctl stop corosync
    ssh_node "$slot" chmod 400 /etc/corosync/authkey
    ssh_node "$slot" systemctl start corosync
    sleep 5
    check "step $((slot + 2)), pvecm status after sleep 5" "$slot" "Nodes $slot, Quorate Yes"
  done
  # Step 6: full status (pvecm status on node 1; "Check quorum" with corosync-cfgtool -s;
  # "Verify Corosync communication" with netstat -tlnp | grep corosync); step 9: enable.
  check "step 6, pvecm status" 1 "Nodes 3, Quorate Yes"
  cfgtool_check "step 6, 'Check quorum'" 1
  local tcp
  tcp=$({ ssh_node 1 'netstat -tlnp 2>/dev/null' || true; } | grep -c corosync || true)
  checks+=("step 6, 'netstat -tlnp | grep corosync' on node1: $tcp lines (corosync's knet listens on UDP only)")
  for slot in 1 2 3; do ssh_node "$slot" systemctl enable corosync; done
  hand_took=$(since "$began")
  # Not part of the runbook: how long after its last step until every node really shows
  # the 3-node quorate membership (a reading of all three every 100 ms, at most 30 s).
  settle_began=$(now)
  settled=""
  for reading in $(seq 300); do
    all=yes
    for slot in 1 2 3; do [ "$(seen "$slot")" = "Nodes 3, Quorate Yes" ] || all=no; done
    if [ "$all" = yes ]; then
      settled="$(since "$settle_began") s (at reading $reading of all three, a new ssh connection each)"
      break
    fi
    sleep 0.1
  done
  "$q" lab --dir "$hand" down >/dev/null 2>&1 || true
  rm -rf -- "$hand"
  hand=""
}

by_apply() { # run
  auto=/run/quorate/byhand-apply-$$-$1
  "$q" lab --dir "$auto" up --config "$target" --no-start >"$auto.log" 2>&1 || { cat "$auto.log" >&2; exit 2; }
  rm -f "$auto.log"
  "$q" plan --from none --to "$auto/corosync.conf" -o "$auto/form.json" >/dev/null
  local began
  began=$(now)
  "$q" apply "$auto/form.json" --inventory "$auto/inventory.toml" --yes >"$auto/apply.out"
  apply_took=$(since "$began")
  apply_line=$(tail -1 "$auto/apply.out")
  "$q" lab --dir "$auto" down >/dev/null 2>&1 || true
  rm -rf -- "$auto"
  auto=""
}

echo "form pve1 ($target: 3 nodes, 2 knet links, crypto) from bare lab nodes, $runs run(s)"
for run in $(seq "$runs"); do
  (
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    flock 9
    load_before=$(load)
    by_hand "$run"
    by_apply "$run"
    echo "run $run (load $load_before -> $(load)):"
    echo "  by hand, the runbook's way (fixed sleep 5 between steps): ${hand_took} s"
    for line in "${checks[@]}"; do echo "    $line"; done
    if [ -n "$settled" ]; then
      echo "    every node showed 3 members, quorate, ${settled} after the runbook's last step"
    else
      echo "    the nodes did NOT all show 3 members, quorate, within 30 s after the runbook's last step"
    fi
    echo "  quorate apply of the planner's plan: ${apply_took} s wall (${apply_line})"
  ) 9>"$lock"
done
