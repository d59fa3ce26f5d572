//! `quorate check`: model checking quorum safety over time with stateright.
//!
//! Owns the stateright `Model` of a cluster (`quorum_model.rs`: state, options, budget,
//! delivery-order branching, symmetry classes), its action alphabet and generators
//! (`actions.rs`), its `always` properties (`properties.rs`) and the runs over it (`run.rs`:
//! exhaustive DFS, shortest counterexamples by BFS, the Explorer). The transitions are the
//! votequorum engine's (`model::quorum::ClusterState::apply_event` of a
//! `model::action::Event`, or another distinct totem delivery order's result of it), and
//! every event lowers to the scenario step it prints as, so every counterexample is a
//! scenario script `quorate whatif` replays (flagging steps that need a non-ascending
//! order). It must not print, read files or parse arguments (the binary does).

pub mod actions;
pub mod counter;
pub mod properties;
pub mod quorum_model;
pub mod run;

pub use self::actions::{
    fault_actions, start_kind, ActionGenerator, ActionKind, CheckAction, FaultActions, OperatorActions,
};
pub use self::properties::{
    always_properties, isolated_node_never_quorate, no_split_brain, quorum_regained,
    ISOLATED_NODE_NEVER_QUORATE, NO_SPLIT_BRAIN, QUORUM_REGAINED,
};
pub use self::quorum_model::{describe, CheckState, ModelError, ModelOptions, QuorumModel, MAX_CHECK_NODES};
pub use self::run::{
    bind_test, check, check_with, delivery_order_note, explore, first_violation, property_kind, CheckMethod,
    CheckOptions, CheckReport, ExploreError, Hooks, Progress, PropertyKind, PropertyVerdict, ViolationSearch,
};
/// stateright's property type, for generators' goals (`ActionGenerator::goals`).
pub use stateright::Property;

#[cfg(test)]
mod tests;
