//! The natural orders a person would try, replayed with the same moves and the same
//! judge as the search, each with the first unsafe or failing state.
//!
//! Owns `natural_orders`: "edit everywhere and restart every node at once", "edit
//! everywhere and reload" (which also never lets a dropped node leave first), "edit and
//! restart one node at a time", and when two_node changes with the nodelist "start the new
//! node first, then restart the others". An order that reaches the target safely is not reported.
//! It must not search.

use model::quorum::NodeSet;

use crate::files::TARGET;
use crate::search::{try_move, Judge};
use crate::state::{Context, Move, PlanState};
use crate::Rejected;

/// The natural orders that fail, with why.
pub(crate) fn natural_orders(context: &Context, judge: &mut Judge) -> Vec<Rejected> {
    if context.files.source.is_none() {
        return Vec::new();
    }
    let universe = &context.universe;
    let start = &context.start;
    let up = start.cluster.up_nodes();
    let target_nodes = universe.in_target;
    let kept = target_nodes.intersection(up);
    let new_nodes = target_nodes.difference(up);
    let dropped = up.difference(target_nodes);
    let write_all = Move::Write {
        file: TARGET,
        nodes: target_nodes,
    };
    let mut orders: Vec<(String, Vec<Move>)> = Vec::new();
    let mut all_at_once = vec![write_all.clone()];
    if !dropped.is_empty() {
        all_at_once.push(Move::Leave(dropped));
    }
    if !kept.is_empty() {
        all_at_once.push(Move::Restart(kept));
    }
    if !new_nodes.is_empty() {
        all_at_once.push(Move::Start(new_nodes));
    }
    orders.push((
        "edit the file everywhere and restart every node at once".to_string(),
        all_at_once,
    ));
    let via = up.min().unwrap_or(0);
    let mut reload = vec![write_all, Move::Reload { via }];
    if !new_nodes.is_empty() {
        reload.push(Move::Start(new_nodes));
    }
    if !dropped.is_empty() {
        reload.push(Move::Leave(dropped));
    }
    let reload_name = if dropped.is_empty() {
        "edit the file everywhere and reload"
    } else {
        "edit the file everywhere and reload, then stop the removed node"
    };
    orders.push((reload_name.to_string(), reload));
    let mut one_by_one = Vec::new();
    for pos in target_nodes.iter() {
        one_by_one.push(Move::Write {
            file: TARGET,
            nodes: NodeSet::single(pos),
        });
        if up.contains(pos) {
            one_by_one.push(Move::Restart(NodeSet::single(pos)));
        } else {
            one_by_one.push(Move::Start(NodeSet::single(pos)));
        }
    }
    if !dropped.is_empty() {
        one_by_one.push(Move::Leave(dropped));
    }
    orders.push((
        "edit the file and restart one node at a time".to_string(),
        one_by_one,
    ));
    // two_node going (or coming) with the nodelist: the order that treats two_node as a
    // startup key (this planner's own order before partial meshes were modelled): the file
    // everywhere, the new nodes started, then the old ones restarted one at a time. On a
    // corosync 3.1.7 lab it split-brained (a restarted node quorate with the new one, its
    // peer quorate alone by two_node).
    let two_node_changes = context
        .files
        .source
        .and_then(|source| context.files.get(source))
        .is_some_and(|source| source.settings().two_node != context.files.target().settings().two_node);
    if two_node_changes && !new_nodes.is_empty() && !kept.is_empty() {
        let mut new_first = vec![
            Move::Write {
                file: TARGET,
                nodes: target_nodes,
            },
            Move::Start(new_nodes),
        ];
        new_first.extend(kept.iter().map(|pos| Move::Restart(NodeSet::single(pos))));
        orders.push((
            "edit the file everywhere, start the new node first, then restart the others one at a time"
                .to_string(),
            new_first,
        ));
    }
    // Restart first, distribute later: the file edited on one node, every node restarted.
    if let Some(first) = kept.min() {
        let mut restart_first = vec![Move::Write {
            file: TARGET,
            nodes: NodeSet::single(first),
        }];
        restart_first.extend(kept.iter().map(|pos| Move::Restart(NodeSet::single(pos))));
        restart_first.push(Move::Write {
            file: TARGET,
            nodes: target_nodes,
        });
        restart_first.push(Move::Reload { via: first });
        let name = &universe.names[first];
        orders.push((
            format!("edit the file on {name}, restart the nodes one at a time, copy the file to the others afterwards"),
            restart_first,
        ));
    }
    if let Some(device) = context.qdevice.as_ref().filter(|device| device.adding()) {
        // Start the daemons first (they would then be ready when the device appears).
        orders.push((
            format!(
                "set up the certificates with {}, start corosync-qdevice on every node, then edit the file everywhere and reload",
                device.host
            ),
            vec![
                Move::Certify(target_nodes),
                Move::QdeviceStart(kept),
                Move::Write {
                    file: TARGET,
                    nodes: target_nodes,
                },
                Move::Reload { via },
            ],
        ));
    }
    let mut rejected = Vec::new();
    for (order, moves) in orders {
        if let Some(because) = first_failure(context, judge, start, &moves) {
            rejected.push(Rejected { order, because });
        }
    }
    rejected
}

/// The first failure of `moves` from `start`, in words, or `None` when they reach the
/// target safely.
fn first_failure(context: &Context, judge: &mut Judge, start: &PlanState, moves: &[Move]) -> Option<String> {
    let mut state = start.clone();
    for (index, mv) in moves.iter().enumerate() {
        match try_move(context, judge, &state, mv) {
            Ok((applied, _)) => state = applied.state,
            Err(why) => {
                let earlier = if index == 0 {
                    String::new()
                } else {
                    let done: Vec<String> = moves[..index].iter().map(|mv| context.describe(mv)).collect();
                    format!(" (after {})", done.join(", "))
                };
                return Some(format!("{}{earlier}: {why}", context.describe(mv)));
            }
        }
    }
    if context.is_goal(&state) {
        return None;
    }
    if let Some(device) = context.qdevice.as_ref().filter(|_| !context.qdevice_done(&state)) {
        let wrong: Vec<String> = context
            .universe
            .in_target
            .iter()
            .filter(|pos| state.cluster.qdevice_stopped(*pos) != device.removing())
            .map(|pos| context.universe.names[pos].clone())
            .collect();
        return Some(if device.kept() {
            format!(
                "it ends short of the target: corosync-qdevice does not run on {} (it stopped with corosync), so its vote is missing",
                wrong.join(", ")
            )
        } else if device.adding() {
            format!(
                "it ends short of the target: corosync-qdevice does not run on {}, so the device's votes count in expected votes but nobody casts them",
                wrong.join(", ")
            )
        } else {
            format!(
                "it ends short of the target: corosync-qdevice still runs on {}",
                wrong.join(", ")
            )
        });
    }
    let target = context.files.target();
    for pos in context.universe.in_target.iter() {
        if context.runs_target(&state, pos) {
            continue;
        }
        let name = &context.universe.names[pos];
        let differences = context
            .files
            .get(state.boot[pos])
            .map(|boot| boot.startup_differences(target))
            .unwrap_or_default();
        if state.cluster.is_up(pos) && !differences.is_empty() {
            return Some(format!(
                "it ends short of the target: {name} still runs {} as it started, these keys take effect only at a restart (spec 5.2)",
                differences.join(", ")
            ));
        }
        return Some(format!(
            "it ends short of the target: {name} does not run the target file"
        ));
    }
    Some("it ends short of the target".to_string())
}
