//! Rule L008 `authentication-without-encryption`: owns this check only.
//!
//! ## What it does
//! Notes a knet cluster with `crypto_hash` set but `crypto_cipher` `none` (or absent):
//! packets are authenticated but travel in clear text.
//!
//! ## Why is this bad?
//! It is a valid configuration and stops forged packets, but everything the cluster sends
//! (CPG messages, Pacemaker's CIB updates, Proxmox's pmxcfs contents) is readable by anyone
//! on the network path. If that is a choice, fine; often the cipher was simply forgotten.
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     crypto_hash: sha256
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     crypto_cipher: aes256
//!     crypto_hash: sha256
//! }
//! ```
//!
//! ## Fix safety
//! Changing crypto needs a coordinated change on every node: a planner target.
//!
//! ## References
//! corosync.conf(5) `crypto_cipher`, `crypto_hash`; spec section 4.3.

use crate::lint::{Checker, Violation};
use crate::quorum::settings::Transport;

/// Hash without cipher.
struct AuthenticationWithoutEncryption;

impl Violation for AuthenticationWithoutEncryption {
    fn message(&self) -> String {
        "cluster traffic is authenticated but not encrypted".to_string()
    }

    fn help(&self) -> Option<String> {
        Some("set `crypto_cipher: aes256` unless clear-text cluster traffic is intended".to_string())
    }
}

/// L008
pub(crate) fn authentication_without_encryption(checker: &mut Checker) {
    let effective = &checker.config.effective;
    if checker.quorum.transport != Transport::Knet
        || effective.crypto_hash == "none"
        || effective.crypto_cipher != "none"
    {
        return;
    }
    let span = checker
        .effective_key("totem", "crypto_cipher")
        .or_else(|| checker.effective_key("totem", "crypto_hash"))
        .map(|item| item.value_span);
    checker.report(&AuthenticationWithoutEncryption, span);
}
