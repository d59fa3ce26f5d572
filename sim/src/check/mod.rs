//! `quorate check`: model checking quorum safety over time with stateright.
//!
//! Owns the stateright `Model` of a cluster (`quorum_model.rs`: state, actions, budget, properties,
//! symmetry classes) and the runs over it (`run.rs`: exhaustive DFS, shortest
//! counterexamples by BFS, the Explorer). The transitions are the votequorum engine's
//! (`model::quorum::ClusterState::apply` of a `model::scenario::Step`, or another distinct
//! totem delivery order's result of it), so every counterexample is a scenario script
//! `quorate whatif` replays (flagging steps that need a non-ascending order). It must not print, read
//! files or parse arguments (the binary does).

pub mod quorum_model;
pub mod run;

pub use self::quorum_model::{
    describe, ActionKind, CheckAction, CheckState, ModelError, ModelOptions, OperatorActions, QuorumModel,
    ISOLATED_NODE_NEVER_QUORATE, MAX_CHECK_NODES, NO_SPLIT_BRAIN, QUORUM_REGAINED,
};
pub use self::run::{
    bind_test, check, delivery_order_note, explore, property_kind, CheckOptions, CheckReport, ExploreError,
    Progress, PropertyKind, PropertyVerdict,
};

#[cfg(test)]
mod tests;
