//! The `always` properties of `QuorumModel`: what must hold in every reachable state.
//!
//! Owns the property names (part of the `check` JSON contract) and their conditions as
//! public functions, so that any run over a `QuorumModel` (`quorate check`, a planner
//! searching `sometimes(target reached)` with its own `ActionGenerator`) checks the same
//! safety. Each condition reads the state only (and the configured votes); it must not
//! apply steps.

use super::actions::ActionGenerator;
use super::quorum_model::{CheckState, QuorumModel};
use model::quorum::NodeSet;
use stateright::Property;

/// Property name: never two disjoint memberships quorate at once.
pub const NO_SPLIT_BRAIN: &str = "no-split-brain";
/// Property name: a stable membership with a majority of the votes is quorate once timers ran.
pub const QUORUM_REGAINED: &str = "quorum-regained";
/// Property name: a node cut off from every other running node is not quorate (unless it
/// alone holds a majority of the votes, the device's counted while its qdevice casts them).
pub const ISOLATED_NODE_NEVER_QUORATE: &str = "isolated-node-never-quorate";

/// The `always` properties, in the fixed order reports list them.
pub fn always_properties<G: ActionGenerator>() -> Vec<Property<QuorumModel<G>>> {
    vec![
        Property::<QuorumModel<G>>::always(NO_SPLIT_BRAIN, |_, state| no_split_brain(state)),
        Property::<QuorumModel<G>>::always(QUORUM_REGAINED, quorum_regained),
        Property::<QuorumModel<G>>::always(ISOLATED_NODE_NEVER_QUORATE, isolated_node_never_quorate),
    ]
}

/// `no-split-brain`: no two running nodes with disjoint rings are both quorate.
pub fn no_split_brain(state: &CheckState) -> bool {
    !state.cluster.split_brain()
}

/// `quorum-regained`: once no timer is pending and every group is stable, each membership
/// holding a strict majority of the physical votes is quorate.
pub fn quorum_regained<G: ActionGenerator>(model: &QuorumModel<G>, state: &CheckState) -> bool {
    let cluster = &state.cluster;
    if state.unstable || cluster.next_timer_ms().is_some() {
        return true;
    }
    cluster.up_nodes().iter().all(|pos| {
        let ring = cluster.ring(pos);
        cluster.is_quorate(pos) || model.votes_of(ring) * 2 <= model.total_votes()
    })
}

/// `isolated-node-never-quorate`: a running node alone in its ring while another node runs
/// is not quorate, unless it holds a strict majority of the votes by itself: its own votes
/// plus, while its qdevice casts them, the device's (qnetd giving a lone node the vote is
/// the device doing its job; two such nodes would be a split-brain, `no-split-brain`).
pub fn isolated_node_never_quorate<G: ActionGenerator>(model: &QuorumModel<G>, state: &CheckState) -> bool {
    let cluster = &state.cluster;
    let up = cluster.up_nodes();
    up.iter().all(|pos| {
        let own = NodeSet::single(pos);
        let alone = cluster.ring(pos) == own && up != own;
        let device = if cluster.casts_device_vote(pos) {
            model.device_votes()
        } else {
            0
        };
        !alone || !cluster.is_quorate(pos) || (model.votes_of(own) + device) * 2 > model.total_votes()
    })
}
