//! The action alphabet of `QuorumModel`: what one transition is (`CheckAction`), what it
//! costs (`ActionKind`), and who proposes them (`ActionGenerator`, a parameter of the model).
//!
//! Owns `CheckAction`, `ActionKind`, `OperatorActions`, the `ActionGenerator` trait and
//! `FaultActions`, the generator `quorate check` uses (faults, recoveries, time, optional
//! operator actions). Every action IS one `model::action::Event` (an operator `Action` or
//! a `Fault`) in one totem delivery order, which the engine applies as it applies any
//! event (`ClusterState::apply_event`, the transition of `whatif` too), so a generator
//! decides only which events are tried, never what they do: a planner passes its own
//! generator (operator actions towards a target) and keeps the same transitions and
//! `always` properties (`super::properties`). Every event lowers to the scenario step it
//! prints as, so counterexamples stay `whatif` scripts. It must not apply events or run a
//! checker.
//!
//! Modelling choices of `FaultActions`:
//! - A fault is a crash (`down N`; with allow_downscale also a clean `stop N`), a move that
//!   separates nodes (`move P:N,...`, a subset of one partition to another partition or a
//!   new one), a link going down (whole link, at one node, or between two nodes), or a node
//!   starting into a partition of its own while another node runs (it boots cut off from
//!   every running node: a network fault, as a move to a new partition is; `start_kind`).
//!   Other starts (into a partition some running node is in, or the first node of a cold
//!   start), merges of whole partitions, `link up` and `heal` are recoveries and cost
//!   nothing. (Until issue 16 every start was free, so a cold start reached every
//!   partition of the nodes without a fault: a budget of 0 found boot splits that need
//!   the network partitioned, and the state count grew about 3x per node.)
//!   Operator actions (`expected V on N`, `reload`) count against the same budget, which
//!   therefore bounds every behaviour: the number of ring changes, and so of LMS timers, is
//!   finite.
//! - Time: `wait MS` is enabled only while a timer (an LMS window) is pending and advances
//!   exactly to the earliest deadline.
//! - Partition labels: a start or move targets a label some running node uses or the
//!   smallest unused one, so labels stay small.
//! - qnetd (when it decides the device's vote): `qnetd down` and `qnetd cut N...` (the qnetd
//!   host cut from any non-empty set of the running nodes that reach it, one fault) cost one
//!   unit; `qnetd up` and `qnetd reach` of every cut node are recoveries, as is `heal`, which
//!   restores the paths to qnetd too.

use super::quorum_model::{CheckState, QuorumModel};
use model::action::{Action, Event, Fault};
use model::quorum::{NodeSet, QuorumSettings};
use model::scenario::{LinkScope, NodeRef, NodeSpec, QnetdChange, Step};
use std::fmt;

/// Which operator actions the checker may take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OperatorActions {
    /// `expected V on N` (`corosync-quorumtool -e`, `pvecm expected`).
    pub expected: bool,
    /// `reload` (`corosync-cfgtool -R` with the same file).
    pub reload: bool,
}

impl OperatorActions {
    /// Whether any operator action is enabled.
    pub fn any(self) -> bool {
        self.expected || self.reload
    }
}

/// What an action is, for the budget and for rendering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Costs one unit of the fault budget.
    Fault,
    /// A start, merge, link up or heal: free.
    Recovery,
    /// `wait`: free.
    Time,
    /// An operator command: costs one unit of the budget.
    Operator,
    /// A step of a fixed operator sequence (a plan's next event, `plan verify`): free, it
    /// is what is being verified, not a fault.
    Step,
}

impl ActionKind {
    /// Budget units the action costs.
    pub fn cost(self) -> u8 {
        u8::from(matches!(self, ActionKind::Fault | ActionKind::Operator))
    }
}

/// One action of the model: exactly one event, in one totem delivery order.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CheckAction {
    /// The event the engine applies (`ClusterState::apply_event`); it prints as its
    /// scenario step (`CheckAction::step`).
    pub event: Event,
    /// Its kind.
    pub kind: ActionKind,
    /// Which distinct outcome of the step over the delivery orders of its ring changes'
    /// nodeinfo messages: 0 is ascending node id (`ClusterState::apply`, what `whatif`
    /// replays), k > 0 the k-th other distinct state of
    /// `ClusterState::successors_over_orders`. Part of the action so that `next_state`
    /// stays deterministic. Generators always propose order 0; the model adds the variants.
    pub order: u8,
}

impl CheckAction {
    /// The event in the default (ascending node id) delivery order.
    pub fn new(event: Event, kind: ActionKind) -> CheckAction {
        CheckAction {
            event,
            kind,
            order: 0,
        }
    }

    /// The scenario step the event lowers to: the line a counterexample script shows.
    pub fn step(&self) -> Step {
        self.event.to_step()
    }
}

impl fmt::Debug for CheckAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.event.to_step())?;
        if self.order > 0 {
            write!(f, "  # delivery order variant {}", self.order)?;
        }
        Ok(())
    }
}

/// Who proposes the actions of a `QuorumModel` state: the model's action generator.
///
/// A generator proposes events (`model::action::Event`: operator actions and faults) in
/// the ascending delivery order (`order` 0); the model applies them with the engine
/// (`ClusterState::apply_event`: an event that carries a file, `install` or `reload FILE`,
/// writes it to the nodes' disks, every other node keeps its own), branches on delivery
/// orders, charges `ActionKind::cost` against the budget and drops events the engine
/// rejects or that change nothing. (Before issue 8 the actions were scenario steps; an
/// event is built from one with `Event::from_step` and lowers back with `Event::to_step`.) The
/// `always` properties stay the model's (`super::properties::always_properties`); a
/// generator may add goals (`sometimes` properties, e.g. a planner's "target reached"),
/// which read the generator back through `QuorumModel::generator`.
pub trait ActionGenerator: Clone + fmt::Debug + Send + Sync + Sized + 'static {
    /// Pushes the actions of `state` (order 0) onto `actions`.
    fn actions(&self, model: &QuorumModel<Self>, state: &CheckState, actions: &mut Vec<CheckAction>);

    /// Whether the proposed action set is invariant under permutations of interchangeable
    /// nodes (`crate::symmetry::node_classes`) and only makes nodes disagree on expected
    /// votes through the operator actions of `ModelOptions::operator`: only then may the
    /// model reduce by node symmetry. `false` is always sound.
    fn symmetric(&self) -> bool {
        false
    }

    /// Extra properties (typically `sometimes` goals) checked besides the model's `always`
    /// properties.
    fn goals(&self) -> Vec<stateright::Property<QuorumModel<Self>>> {
        Vec::new()
    }

    /// The generator's position (`CheckState::stage`) after `action` took `before` to
    /// `after`, e.g. the index of a plan's next operator event. The model calls it on
    /// every transition; an action that changes the stage is taken even when it leaves the
    /// cluster as it was. The default keeps the stage (`FaultActions` never moves it, so
    /// `quorate check`'s states are what they were).
    fn stage_after(
        &self,
        before: &CheckState,
        action: &CheckAction,
        after: &model::quorum::ClusterState,
    ) -> u32 {
        let _ = (action, after);
        before.stage
    }
}

/// The actions `quorate check` explores: faults within the budget, free recoveries, time
/// to the next timer, and the operator actions `ModelOptions::operator` enables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultActions;

impl ActionGenerator for FaultActions {
    fn actions(&self, model: &QuorumModel<Self>, state: &CheckState, actions: &mut Vec<CheckAction>) {
        fault_actions(model, state, actions);
    }

    fn symmetric(&self) -> bool {
        true
    }
}

/// What starting a node costs: a start into a partition no running node uses while some
/// node runs is a fault (the node boots cut off from every running node: a network fault,
/// as a move of that node to a new partition is), every other start is a recovery (a node
/// boots where its network is; the first node of a cold start into the only partition
/// there is).
pub fn start_kind(fresh: bool, any_running: bool) -> ActionKind {
    if fresh && any_running {
        ActionKind::Fault
    } else {
        ActionKind::Recovery
    }
}

/// Every fault, recovery, wait and enabled operator action of `state` (order 0).
// Positions index several per-position tables at once (links, link faults, node ids).
#[allow(clippy::needless_range_loop)]
pub fn fault_actions<G: ActionGenerator>(
    model: &QuorumModel<G>,
    state: &CheckState,
    actions: &mut Vec<CheckAction>,
) {
    let settings: &QuorumSettings = model.settings();
    let options = model.options();
    let link_numbers = model.link_numbers();
    let links = model.node_links();
    let node_ref = |pos: usize| NodeRef::Id(state.cluster.nodeids()[pos]);
    let cluster = &state.cluster;
    let count = cluster.nodeids().len();
    let budget = model.budget_left(state);
    let up = cluster.up_nodes();
    let groups = cluster.partitions();
    let mut labels: Vec<u8> = up.iter().map(|pos| groups[pos]).collect();
    labels.sort_unstable();
    labels.dedup();
    let fresh = (0..=u8::MAX)
        .find(|label| !labels.contains(label))
        .unwrap_or(u8::MAX);
    let mut targets = labels.clone();
    targets.push(fresh);

    // Crashes and starts.
    for pos in 0..count {
        let node = node_ref(pos);
        if up.contains(pos) {
            if budget {
                actions.push(CheckAction {
                    order: 0,
                    event: Event::Fault(Fault::CrashNodes(vec![node.clone()])),
                    kind: ActionKind::Fault,
                });
                // A clean shutdown differs from a crash only with allow_downscale.
                if settings.allow_downscale {
                    actions.push(CheckAction {
                        order: 0,
                        event: Event::Action(Action::StopNodes(vec![node])),
                        kind: ActionKind::Fault,
                    });
                }
            }
        } else if !links[pos].is_empty() {
            for target in &targets {
                // Booting cut off from every running node is a network fault; the first
                // node of a cold start boots into the partition that is all there is.
                let kind = start_kind(*target == fresh, !up.is_empty());
                if kind == ActionKind::Fault && !budget {
                    continue;
                }
                actions.push(CheckAction {
                    order: 0,
                    event: Event::Action(Action::StartNodes(vec![NodeSpec {
                        partition: Some(*target),
                        nodes: vec![node.clone()],
                    }])),
                    kind,
                });
            }
        }
    }

    // Moves: a subset of one partition to another partition or a new one.
    for label in &labels {
        let group: NodeSet = up.iter().filter(|pos| groups[*pos] == *label).collect();
        for subset in group.subsets().skip(1) {
            let whole = subset == group;
            if !whole && !budget {
                continue;
            }
            let members: Vec<NodeRef> = subset.iter().map(node_ref).collect();
            for target in &targets {
                if target == label || (whole && *target == fresh) {
                    continue;
                }
                actions.push(CheckAction {
                    order: 0,
                    event: Event::Fault(Fault::MoveNodes(vec![NodeSpec {
                        partition: Some(*target),
                        nodes: members.clone(),
                    }])),
                    kind: if whole {
                        ActionKind::Recovery
                    } else {
                        ActionKind::Fault
                    },
                });
            }
        }
    }

    // Links: whole link, at one node, between two nodes.
    let faults = cluster.link_faults();
    let running_with = |link: u8| up.iter().filter(move |pos| links[*pos].contains(link));
    for link in link_numbers {
        if faults.links_down.contains(*link) {
            actions.push(CheckAction {
                order: 0,
                event: Event::Fault(Fault::SetLink {
                    link: *link,
                    up: true,
                    scope: LinkScope::All,
                }),
                kind: ActionKind::Recovery,
            });
        } else if budget && running_with(*link).count() > 1 {
            actions.push(CheckAction {
                order: 0,
                event: Event::Fault(Fault::SetLink {
                    link: *link,
                    up: false,
                    scope: LinkScope::All,
                }),
                kind: ActionKind::Fault,
            });
        }
        for pos in 0..count {
            let down_here = faults
                .node_links_down
                .get(pos)
                .is_some_and(|node| node.contains(*link));
            if down_here {
                actions.push(CheckAction {
                    order: 0,
                    event: Event::Fault(Fault::SetLink {
                        link: *link,
                        up: true,
                        scope: LinkScope::Nodes(vec![node_ref(pos)]),
                    }),
                    kind: ActionKind::Recovery,
                });
            } else if budget && up.contains(pos) && links[pos].contains(*link) {
                actions.push(CheckAction {
                    order: 0,
                    event: Event::Fault(Fault::SetLink {
                        link: *link,
                        up: false,
                        scope: LinkScope::Nodes(vec![node_ref(pos)]),
                    }),
                    kind: ActionKind::Fault,
                });
            }
        }
        for a in 0..count {
            for b in a + 1..count {
                let entry = (*link, a as u8, b as u8);
                let scope = LinkScope::Between(node_ref(a), node_ref(b));
                if faults.pair_links_down.contains(&entry) {
                    actions.push(CheckAction {
                        order: 0,
                        event: Event::Fault(Fault::SetLink {
                            link: *link,
                            up: true,
                            scope,
                        }),
                        kind: ActionKind::Recovery,
                    });
                } else if budget && up.contains(a) && up.contains(b) && (links[a] & links[b]).contains(*link)
                {
                    actions.push(CheckAction {
                        order: 0,
                        event: Event::Fault(Fault::SetLink {
                            link: *link,
                            up: false,
                            scope,
                        }),
                        kind: ActionKind::Fault,
                    });
                }
            }
        }
    }
    // qnetd: the server and the nodes' paths to its host.
    let qnetd = cluster.qnetd_reach();
    if let Some((server_up, cut)) = qnetd {
        if !server_up {
            actions.push(CheckAction {
                order: 0,
                event: Event::Fault(Fault::Qnetd(QnetdChange::Up)),
                kind: ActionKind::Recovery,
            });
        } else if budget {
            actions.push(CheckAction {
                order: 0,
                event: Event::Fault(Fault::Qnetd(QnetdChange::Down)),
                kind: ActionKind::Fault,
            });
        }
        if budget {
            for subset in (up - cut).subsets().skip(1) {
                actions.push(CheckAction {
                    order: 0,
                    event: Event::Fault(Fault::Qnetd(QnetdChange::Cut(
                        subset.iter().map(node_ref).collect(),
                    ))),
                    kind: ActionKind::Fault,
                });
            }
        }
        if !cut.is_empty() {
            actions.push(CheckAction {
                order: 0,
                event: Event::Fault(Fault::Qnetd(QnetdChange::Reach(
                    cut.iter().map(node_ref).collect(),
                ))),
                kind: ActionKind::Recovery,
            });
        }
    }
    let qnetd_cut = qnetd.is_some_and(|(_, cut)| !cut.is_empty());
    if !faults.is_clear() || labels.len() > 1 || qnetd_cut {
        actions.push(CheckAction {
            order: 0,
            event: Event::Fault(Fault::Heal),
            kind: ActionKind::Recovery,
        });
    }

    // Time.
    if let Some(deadline) = cluster.next_timer_ms() {
        actions.push(CheckAction {
            order: 0,
            event: Event::Fault(Fault::Wait(deadline.saturating_sub(cluster.now_ms()))),
            kind: ActionKind::Time,
        });
    }

    // Operator actions.
    if budget && !up.is_empty() {
        if options.operator.expected {
            let most = model.total_votes().clamp(1, 64) as u32;
            for pos in up.iter() {
                for votes in 1..=most {
                    actions.push(CheckAction {
                        order: 0,
                        event: Event::Action(Action::SetExpectedVotes {
                            votes,
                            node: node_ref(pos),
                        }),
                        kind: ActionKind::Operator,
                    });
                }
            }
        }
        if options.operator.reload {
            actions.push(CheckAction {
                order: 0,
                event: Event::Action(Action::ReloadConfig { file: None }),
                kind: ActionKind::Operator,
            });
        }
    }
}
