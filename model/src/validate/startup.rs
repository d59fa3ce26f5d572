//! The refusals of the corosync daemon at startup that `corosync -t` does not make (spec
//! 4.5): quorum provider selection (`quorum_exec_init_fn`) and `votequorum_readconfig`.
//! corosync exits with status 20 on any of them.
//!
//! Owns `check_startup`. Conditions follow votequorum.c of 3.1.7 in order, including which
//! options are already switched off by earlier rules (two_node by ATB, ATB by the odd-sum
//! rule). Not modelled: `Unable to load ev_tracking file!` (needs the state directory) and
//! the 3.1.8+ knet ping timer refusal.

use super::checks;
use super::totem::Context;
use crate::config::{parse_atb_string, Quorum, Setting};
use crate::diag::Span;
use crate::quorum::settings::TieBreaker;

fn value_span<T>(setting: &Option<Setting<T>>) -> Option<Span> {
    setting.as_ref().map(|setting| setting.value_span)
}

/// Runs the startup checks.
pub(super) fn check_startup(context: &mut Context<'_>) {
    let config = context.config;
    let quorum = &config.quorum;
    let Some(provider) = quorum.provider.as_ref() else {
        return;
    };
    match provider.value.as_str() {
        "corosync_votequorum" => {}
        "corosync_ykd" => return,
        other => {
            context.out.push(checks::INVALID_QUORUM_PROVIDER.diagnostic(
                format!("unknown quorum provider \"{other}\" (corosync_votequorum)"),
                Some(provider.value_span),
                "Invalid quorum provider",
            ));
            return;
        }
    }
    // votequorum 3.1.7 counts every node position, with or without a ring address
    // [verified: a node with only name and quorum_votes raises expected votes].
    let node_count = config.nodelist.nodes.len() as u32;
    let node_expected_votes = config
        .nodelist
        .nodes
        .iter()
        .fold(0u32, |sum, node| sum.wrapping_add(node.votes()));
    let device = quorum.device.as_ref().filter(|device| device.is_configured());
    // "-1" (0xFFFFFFFF) is votequorum's marker for "no votes configured".
    let device_votes = device.map(|device| device.votes.as_ref().map_or(u32::MAX, |votes| votes.value));
    let device_span =
        device.and_then(|device| value_span(&device.model).or(device.sections.first().copied()));
    let expected_votes = quorum.expected_votes.as_ref().map_or(0, |votes| votes.value);

    let mut two_node = Quorum::flag(&quorum.two_node);
    if two_node && device.is_some() {
        push(
            context,
            checks::TWO_NODE_WITH_DEVICE,
            "two_node cannot be combined with a quorum device".to_string(),
            value_span(&quorum.two_node).or(device_span),
        );
    }
    let wait_for_all = match quorum.wait_for_all.as_ref() {
        Some(flag) => flag.value != 0,
        None => two_node,
    };
    let mut auto_tie_breaker = Quorum::flag(&quorum.auto_tie_breaker);
    if auto_tie_breaker {
        if let Some(atb) = quorum.auto_tie_breaker_node.as_ref() {
            auto_tie_breaker = parse_atb_string(&atb.value) != TieBreaker::Invalid;
        }
    }
    if two_node && auto_tie_breaker {
        // Logged as CRIT, startup continues with two_node off.
        two_node = false;
    }
    let _ = two_node;
    let last_man_standing = Quorum::flag(&quorum.last_man_standing);
    if auto_tie_breaker && node_expected_votes % 2 == 1 && !wait_for_all {
        if last_man_standing {
            push(
                context,
                checks::ATB_LMS_ODD_CLUSTER,
                format!(
                    "auto_tie_breaker with last_man_standing needs wait_for_all when the nodelist votes sum to an odd number ({node_expected_votes})"
                ),
                value_span(&quorum.auto_tie_breaker),
            );
        } else {
            // Logged as CRIT, startup continues with ATB off.
            auto_tie_breaker = false;
        }
    }
    if device.is_some() && last_man_standing {
        push(
            context,
            checks::DEVICE_WITH_LMS,
            "a quorum device cannot be combined with last_man_standing".to_string(),
            value_span(&quorum.last_man_standing).or(device_span),
        );
    }
    if device.is_some() && auto_tie_breaker {
        push(
            context,
            checks::DEVICE_WITH_ATB,
            "a quorum device cannot be combined with auto_tie_breaker".to_string(),
            value_span(&quorum.auto_tie_breaker).or(device_span),
        );
    }
    if device.is_some() && Quorum::flag(&quorum.allow_downscale) {
        push(
            context,
            checks::DEVICE_WITH_DOWNSCALE,
            "a quorum device cannot be combined with allow_downscale".to_string(),
            value_span(&quorum.allow_downscale).or(device_span),
        );
    }
    if expected_votes != 0 && device_votes == Some(u32::MAX) {
        push(
            context,
            checks::DEVICE_VOTES_WITH_EXPECTED_VOTES,
            "the quorum device needs explicit votes because quorum.expected_votes is set".to_string(),
            device_span,
        );
    }
    if device_votes == Some(u32::MAX) && node_count != node_expected_votes {
        push(
            context,
            checks::DEVICE_VOTES_WITH_UNEQUAL_VOTES,
            "the quorum device needs explicit votes because not every node has exactly 1 vote".to_string(),
            device_span,
        );
    }
    if let Some(votes) = device_votes.filter(|votes| *votes > 0) {
        // `int delta = expected_votes - qdevice_votes;` in uint32, then read as int.
        let delta = expected_votes.wrapping_sub(votes) as i32;
        if expected_votes != 0 && delta < 2 {
            let span = device
                .and_then(|device| value_span(&device.votes))
                .or(value_span(&quorum.expected_votes));
            push(
                context,
                checks::DEVICE_VOTES_TOO_HIGH,
                format!("expected_votes {expected_votes} minus device votes {votes} is below 2"),
                span,
            );
        }
    }
}

fn push(context: &mut Context<'_>, check: checks::Check, message: String, span: Option<Span>) {
    context
        .out
        .push(check.diagnostic(message, span, check.corosync_message));
}
