//! Rule Q009 `no-quorum-provider`: owns this check only; an unknown provider is refused at
//! startup and reported by validation.
//!
//! ## What it does
//! Flags a configuration without `quorum.provider`.
//!
//! ## Why is this bad?
//! Without a quorum provider corosync declares every partition quorate. After any network
//! split, every group of nodes believes it may run the cluster's resources: split-brain by
//! construction. `corosync -t` accepts it. Configurations from the corosync 1.x era, where
//! Pacemaker decided quorum itself, often lack it.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//! }
//! quorum {
//!     provider: corosync_votequorum
//! }
//! ```
//!
//! ## Fix safety
//! Adding the provider makes minorities inquorate: unsafe.
//!
//! ## References
//! votequorum(5); corosync.conf(5) `quorum`; corosync `exec/vsf_quorum.c`.

use crate::lint::{Checker, Violation};
use crate::quorum::settings::Provider;

/// No quorum provider.
struct NoQuorumProvider;

impl Violation for NoQuorumProvider {
    fn message(&self) -> String {
        "no `quorum.provider`, so every partition is quorate".to_string()
    }

    fn help(&self) -> Option<String> {
        Some("add `provider: corosync_votequorum` to the `quorum` section".to_string())
    }

    fn fix_title(&self) -> Option<String> {
        Some("set `quorum.provider` to `corosync_votequorum`".to_string())
    }
}

/// Q009
pub(crate) fn no_quorum_provider(checker: &mut Checker) {
    if checker.quorum.provider != Provider::None {
        return;
    }
    let span = checker
        .document
        .sections_at("quorum")
        .first()
        .map(|quorum| quorum.name_span);
    checker.report(&NoQuorumProvider, span);
}
