//! corosync parity validation: every condition real corosync 3.1.7 refuses.
//!
//! Owns `validate`, `HostFacts`, `AuthkeyFacts` and the check table (`checks::CHECKS`).
//! Each finding is an error tagged with who refuses it (`corosync -t` for spec 4.2,
//! `corosync startup` for spec 4.5) and quotes corosync's own message in `help`. corosync
//! stops at its first error; we report all of them, so one run shows every problem. It
//! must not do IO (the binary fills `HostFacts`) and must not emit risk warnings (that is
//! `lint`).
//!
//! Every check is verified against the real binaries: `model/test_data/validate/` holds one
//! file per check with `corosync -t`'s (or corosync-vqsim's) output on its first lines,
//! `regenerate.py` re-records them and `differential.py` compares thousands of random
//! variants with `corosync -t` and corosync-vqsim.
//!
//! Choices where a pure crate cannot know what the host knows:
//! - Hostnames: a ring address that is not an address literal (as `getaddrinfo` reads it,
//!   `inet_aton` forms included) is assumed to resolve, to a family `ip_version` allows,
//!   unless `HostFacts::hosts` is given, which then stands in for DNS and /etc/hosts. A
//!   string no DNS name can be never resolves (`local::host_name_problem`: a port, brackets,
//!   a prefix length, an empty or over-long label, a character outside letters, digits, `-`,
//!   `_` and `.`, only digits and dots, the reserved `.invalid` domain): corosync -t refuses
//!   each unless /etc/hosts lists that exact string (measured, issue 10 item 1).
//! - The local node: `HostFacts::local_node` stands in for uname and the host's addresses.
//!   Without it V2 is not reported and the local-node variants of R8/R10/R13 become their
//!   remote-node forms. When it is given but not found, corosync 3.1.7 still treats the last
//!   node in icmap order as local (for bind addresses and the local nodeid check), and so
//!   do we.
//! - The key file: R3/R4 need `HostFacts::authkey`.
//!
//! Not modelled: T3 (`ip_dscp`, 3.1.10 only; 3.1.7 ignores the key), `uidgid` users or
//! groups unknown to the host (`The '%s' user is not found in /etc/passwd`), startup's
//! `Unable to load ev_tracking file!` (state directory), the 3.1.8+ knet ping timer refusal,
//! `key is too long` (unreachable: a line holds at most 510 bytes), and
//! `nodelist or quorum.expected_votes must be configured!`, which only a file that
//! `corosync -t` already refuses can reach.

pub mod checks;
pub mod local;
mod startup;
#[cfg(test)]
mod tests;
mod totem;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

pub use checks::{Check, CHECKS};

use crate::config::Config;
use crate::diag::{Diagnostic, RejectedBy};
use crate::syntax::Document;

/// What the binary knows about the host the configuration is meant for. Everything is
/// optional: checks that need a missing fact are skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    /// The local node as the user names it: a node name or an address. `None` skips the
    /// checks that need the local node (V2 "No valid name found for local host", and R10
    /// which is then reported as R11).
    pub local_node: Option<String>,
    /// The key file, when crypto is enabled and the binary could look at it. `None` skips
    /// R3/R4.
    pub authkey: Option<AuthkeyFacts>,
    /// Hostname to address map standing in for DNS and /etc/hosts. `None`: every ring
    /// address that is not an IP literal is assumed to resolve (and to a family
    /// `ip_version` allows). `Some`: a hostname missing from the map does not resolve.
    pub hosts: Option<BTreeMap<String, IpAddr>>,
}

/// What the binary found at the key file path (`Config::authkey_path`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuthkeyFacts {
    /// The path corosync opens.
    pub path: String,
    /// Its length in bytes; `None` when it cannot be opened or read.
    pub len: Option<u64>,
    /// The OS error text when unreadable (e.g. `No such file or directory`), for quoting
    /// corosync's message exactly.
    pub os_error: Option<String>,
}

/// Every corosync parity error in the file: the value refusals of
/// `Config::from_document` (kept in `Config::value_diagnostics`; do not add those again), then corosync -t's totem checks,
/// then the daemon's startup refusals.
pub fn validate(document: &Document, config: &Config, host: &HostFacts) -> Vec<Diagnostic> {
    let mut diagnostics = config.value_diagnostics.clone();
    let found = host
        .local_node
        .as_deref()
        .and_then(|local| local::find_local_node(config, local, host.hosts.as_ref()));
    // When the local node is not found, corosync 3.1.7's find_local_node still returns the
    // position of the last node it looked at (the last in icmap order) and uses it as the
    // local node for bind addresses and the local nodeid check, before it reports V2.
    // Without the nodelist read (position 0 has neither name nor ring0_addr) corosync fails
    // V2 on any host, and the same fallback applies.
    let assumed = found.or_else(|| {
        if host.local_node.is_none() && totem::nodes_loaded(config) {
            return None;
        }
        local::icmap_order(config).last().map(|node| node.index)
    });
    let mut context = totem::Context {
        config,
        host,
        local: assumed,
        local_found: found.is_some(),
        out: Vec::new(),
    };
    totem::check_totem(&mut context, document);
    startup::check_startup(&mut context);
    diagnostics.extend(context.out);
    diagnostics.sort_by_key(|diagnostic| {
        (
            diagnostic.rejected_by == Some(RejectedBy::CorosyncStartup),
            diagnostic.span.map(|span| span.start),
        )
    });
    diagnostics
}
