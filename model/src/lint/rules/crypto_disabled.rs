//! Rule L007 `crypto-disabled`: owns this check only; crypto settings corosync refuses are
//! validation's.
//!
//! ## What it does
//! Flags a knet cluster whose traffic is neither authenticated nor encrypted:
//! `crypto_cipher` and `crypto_hash` are `none` (the default) and `secauth` is not on.
//!
//! ## Why is this bad?
//! Without crypto, corosync accepts totem packets from any host that can reach its ports
//! and knows the node ids; `block_unlisted_ips` only filters by source address, which is
//! easy to spoof on a shared network. A forged packet can disturb membership and quorum,
//! and cluster messages (CPG, Pacemaker, pmxcfs) travel in clear text. Proxmox warns about
//! it too (`authentication/encryption is not explicitly enabled`).
//!
//! ## Example
//! ```conf
//! totem {
//!     version: 2
//!     transport: knet
//! }
//! ```
//!
//! ## Use instead
//! ```conf
//! totem {
//!     version: 2
//!     transport: knet
//!     crypto_cipher: aes256
//!     crypto_hash: sha256
//! }
//! ```
//!
//! ## Fix safety
//! Enabling crypto needs the same `/etc/corosync/authkey` on every node and a coordinated
//! change: a planner target, never a text fix.
//!
//! ## References
//! corosync.conf(5) `crypto_cipher`, `crypto_hash`, `secauth`, `block_unlisted_ips`;
//! corosync-keygen(8); proxmox/pve-cluster `PVE::Corosync::verify_conf`.

use crate::lint::{Checker, Violation};
use crate::quorum::settings::Transport;

/// knet without crypto.
struct CryptoDisabled;

impl Violation for CryptoDisabled {
    fn message(&self) -> String {
        "cluster traffic is neither authenticated nor encrypted".to_string()
    }

    fn help(&self) -> Option<String> {
        Some("set `crypto_cipher: aes256` and `crypto_hash: sha256` in `totem` and distribute one authkey (corosync-keygen) to every node".to_string())
    }
}

/// L007
pub(crate) fn crypto_disabled(checker: &mut Checker) {
    if checker.quorum.transport != Transport::Knet || checker.config.effective.crypto_enabled {
        return;
    }
    if checker.document.sections_at("totem").is_empty() {
        return;
    }
    let span = checker
        .effective_key("totem", "crypto_cipher")
        .or_else(|| checker.effective_key("totem", "crypto_hash"))
        .or_else(|| checker.effective_key("totem", "secauth"))
        .map(|item| item.value_span)
        .or_else(|| {
            checker
                .document
                .sections_at("totem")
                .first()
                .map(|totem| totem.name_span)
        });
    checker.report(&CryptoDisabled, span);
}
