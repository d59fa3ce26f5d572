//! The table of corosync parity checks: one stable code and name per condition that real
//! corosync refuses.
//!
//! Owns `Check`, every check constant and `CHECKS`. Codes are never reused: E1xx are
//! refused by `corosync -t` (spec 4.2), E2xx only by the daemon at startup (spec 4.5).
//! It must not contain any checking logic (see the sibling modules).

use crate::diag::{Diagnostic, RejectedBy, Severity, Span};

/// One corosync parity check, as `quorate explain` documents it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// Stable code, `E` plus three digits; never reused.
    pub code: &'static str,
    /// Stable kebab-case name.
    pub name: &'static str,
    /// The row of the spec (corosync-semantics.md 4.2 / 4.5) this check mirrors.
    pub spec_row: &'static str,
    /// Which part of corosync refuses the configuration.
    pub rejected_by: RejectedBy,
    /// One sentence: what corosync refuses.
    pub summary: &'static str,
    /// corosync 3.1.7's own message, printf placeholders kept (`<file>:<line>` for the
    /// parser's location prefix).
    pub corosync_message: &'static str,
}

impl Check {
    /// A diagnostic for this check: an error, tagged with `rejected_by`, whose help quotes
    /// corosync's message exactly as it would print it for this file.
    pub fn diagnostic(
        &self,
        message: impl Into<String>,
        span: Option<Span>,
        corosync_says: &str,
    ) -> Diagnostic {
        let prefix = match self.rejected_by {
            RejectedBy::CorosyncT => "corosync -t",
            RejectedBy::CorosyncStartup => "corosync startup",
        };
        let mut diagnostic = Diagnostic::new(self.code, self.name, Severity::Error, message)
            .rejected_by(self.rejected_by)
            .with_help(format!("{prefix}: {corosync_says}"));
        diagnostic.span = span;
        diagnostic
    }
}

macro_rules! checks {
    ($( $(#[$doc:meta])* $ident:ident = ($code:literal, $name:literal, $row:literal, $by:ident, $summary:literal, $message:literal); )*) => {
        $( $(#[$doc])* pub const $ident: Check = Check {
            code: $code,
            name: $name,
            spec_row: $row,
            rejected_by: RejectedBy::$by,
            summary: $summary,
            corosync_message: $message,
        }; )*
        /// Every check, in code order.
        pub const CHECKS: &[Check] = &[$($ident),*];
    };
}

checks! {
    /// T1.
    INTEGER_OUT_OF_RANGE = ("E101", "integer-out-of-range", "T1", CorosyncT,
        "a typed integer key is not a decimal integer in the range of its cmap type",
        "parser error: <file>:<line>: Value of key \"%s\" is expected to be integer in range (%lld..%lld), but \"%s\" was given");
    /// T2. corosync 3.1.7 aborts here instead of printing its message (a bug fixed later).
    UNSIGNED_OUT_OF_RANGE = ("E102", "unsigned-out-of-range", "T2", CorosyncT,
        "a 64-bit unsigned key (totem.config_version, resources poll_period) is not an unsigned number; corosync 3.1.7 aborts",
        "corosync: coroparse.c:1477: main_config_parser_cb: Assertion `safe_atoq_range(val_type, &min_val, &max_val) == 0' failed.");
    /// T4.
    INVALID_IP_VERSION = ("E103", "invalid-ip-version", "T4", CorosyncT,
        "totem.ip_version is not ipv4, ipv6, ipv4-6 or ipv6-4",
        "parser error: <file>:<line>: Invalid ip_version type");
    /// T5.
    INVALID_CRYPTO_MODEL = ("E104", "invalid-crypto-model", "T5", CorosyncT,
        "totem.crypto_model is not a crypto model knet was built with (nss, openssl)",
        "parser error: <file>:<line>: Invalid crypto model. Should be nss or openssl");
    /// T6.
    INVALID_CRYPTO_CIPHER = ("E105", "invalid-crypto-cipher", "T6", CorosyncT,
        "totem.crypto_cipher is not none, aes256, aes192 or aes128",
        "parser error: <file>:<line>: Invalid cipher type. Should be none, aes256, aes192 or aes128");
    /// T7.
    INVALID_CRYPTO_HASH = ("E106", "invalid-crypto-hash", "T7", CorosyncT,
        "totem.crypto_hash is not none, md5, sha1, sha256, sha384 or sha512",
        "parser error: <file>:<line>: Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512");
    /// T8.
    INVALID_COMPRESSION_MODEL = ("E107", "invalid-compression-model", "T8", CorosyncT,
        "totem.knet_compression_model is not a compression model knet was built with",
        "parser error: <file>:<line>: Invalid compression model. Should be zlib, lz4, lz4hc, lzo2, lzma, bzip2 or zstd");
    /// T9.
    INVALID_SYSTEM_VALUE = ("E108", "invalid-system-value", "T9", CorosyncT,
        "a system.* key has a value corosync does not know",
        "parser error: <file>:<line>: Invalid system.%s");
    /// T10.
    INVALID_SECTION_ITEM = ("E109", "invalid-section-item", "T10", CorosyncT,
        "a uidgid, member, logger_subsys or logging_daemon section has an item corosync refuses or lacks its mandatory key",
        "parser error: <file>:<line>: uidgid: Only uid and gid are allowed items");
    /// L1 (exit status 7).
    INVALID_LOGGING_VALUE = ("E110", "invalid-logging-value", "L1", CorosyncT,
        "a logging key has a value corosync does not know (corosync -t exits 7)",
        "parse error in config: unknown value for %s.");
    /// R1.
    INVALID_TRANSPORT = ("E111", "invalid-transport", "R1", CorosyncT,
        "totem.transport is not knet, udp or udpu",
        "Invalid transport type. Should be udpu, udp or knet");
    /// R2.
    CIPHER_WITHOUT_HASH = ("E112", "cipher-without-hash", "R2", CorosyncT,
        "an encryption cipher is set but crypto_hash is none",
        "crypto_cipher requires crypto_hash with value other than none");
    /// R3 (host-dependent: needs `HostFacts::authkey`).
    UNREADABLE_AUTHKEY = ("E113", "unreadable-authkey", "R3", CorosyncT,
        "crypto is enabled and the key file cannot be read",
        "Could not open %s: %s");
    /// R4 (host-dependent: needs `HostFacts::authkey`).
    SHORT_AUTHKEY = ("E114", "short-authkey", "R4", CorosyncT,
        "the key file is shorter than 128 bytes (1024 bits)",
        "Could only read %d bits of minimum 1024 bits from %s.");
    /// R5.
    SHORT_INLINE_KEY = ("E115", "short-inline-key", "R5", CorosyncT,
        "totem.key is shorter than 127 characters (128 bytes with its terminator)",
        "key is too short");
    /// R6.
    LINK_MODE_TOO_LONG = ("E116", "link-mode-too-long", "R6", CorosyncT,
        "totem.link_mode is 64 characters or longer",
        "totem.link_mode is too long");
    /// R7.
    LINK_NUMBER_TOO_HIGH = ("E117", "link-number-too-high", "R7", CorosyncT,
        "an interface section that stores keys, or a ringN_addr, uses a link number above 7",
        "parse error in config: interface ring number %u is bigger than allowed maximum 7");
    /// R8.
    INVALID_INTERFACE_ADDRESS = ("E118", "invalid-interface-address", "R8", CorosyncT,
        "an interface bindnetaddr or mcastaddr is not an address of the configured IP version",
        "failed to parse bindnet address '%s'");
    /// R9.
    INVALID_KNET_TRANSPORT = ("E119", "invalid-knet-transport", "R9", CorosyncT,
        "an interface knet_transport is not udp or sctp",
        "Unrecognised knet_transport. expected 'udp' or 'sctp'");
    /// R10 (needs the local node: `HostFacts::local_node`).
    LOCAL_NODEID_MISSING = ("E120", "local-nodeid-missing", "R10", CorosyncT,
        "with knet, the local node has no nodeid (or nodeid 0)",
        "Knet requires an explicit nodeid for the local node");
    /// R11.
    KNET_NODEID_MISSING = ("E121", "knet-nodeid-missing", "R11", CorosyncT,
        "with knet, a node with a ring address has no nodeid (or nodeid 0)",
        "Knet requires an explicit nodeid to be specified for address '%s'.");
    /// R12.
    KNET_NODEID_TOO_HIGH = ("E122", "knet-nodeid-too-high", "R12", CorosyncT,
        "with knet, a nodeid is 65536 or more",
        "Knet requires nodeid to be less than 65536 for address '%s'.");
    /// R13.
    IPV6_NODEID_MISSING = ("E123", "ipv6-nodeid-missing", "R13", CorosyncT,
        "with udp/udpu, a node whose ring0_addr is not IPv4 has no nodeid to generate one from",
        "An IPV6 network requires that a node ID be specified for address '%s'.");
    /// R14.
    INVALID_NODE_ADDRESS = ("E124", "invalid-node-address", "R14", CorosyncT,
        "a ringN_addr does not resolve, or is of a family ip_version does not allow",
        "failed to parse node address '%s'");
    /// V1.
    NO_INTERFACES = ("E125", "no-interfaces", "V1", CorosyncT,
        "no link is configured: no nodelist node has a ring address",
        "parse error in config: No interfaces defined");
    /// V2 (needs `HostFacts::local_node`).
    LOCAL_NODE_NOT_FOUND = ("E126", "local-node-not-found", "V2", CorosyncT,
        "the local host is not in the nodelist (by name or ring0_addr)",
        "parse error in config: No valid name found for local host");
    /// V3.
    NO_MULTICAST_ADDRESS = ("E127", "no-multicast-address", "V3", CorosyncT,
        "udp transport without mcastaddr and without a cluster_name to derive one",
        "parse error in config: No multicast address specified for interface %u");
    /// V5.
    TTL_WITHOUT_MULTICAST = ("E128", "ttl-without-multicast", "V5", CorosyncT,
        "an interface ttl other than 1 with knet or udpu",
        "parse error in config: Can only set ttl on multicast transport types for interface %u");
    /// V6.
    LINK_PRIORITY_WITHOUT_KNET = ("E129", "link-priority-without-knet", "V6", CorosyncT,
        "knet_link_priority other than 1 with udp or udpu",
        "parse error in config: Can only set link priority on knet transport type for interface %u");
    /// V8.
    INVALID_MULTICAST_ADDRESS = ("E130", "invalid-multicast-address", "V8", CorosyncT,
        "udp: the multicast address is not multicast, or not of the bind address family",
        "parse error in config: mcastaddr is not a correct multicast address for interface %u");
    /// V9.
    UNSUPPORTED_TOTEM_VERSION = ("E131", "unsupported-totem-version", "V9", CorosyncT,
        "totem.version is missing or not 2",
        "parse error in config: This totem parser can only parse version 2 configurations.");
    /// V10.
    TIMEOUT_TOO_SMALL = ("E132", "timeout-too-small", "V10", CorosyncT,
        "an effective totem timeout is below its minimum (30 ms; hold 14 ms) or token_warning is above 100",
        "parse error in config: The token timeout parameter (%d ms) may not be less than (30 ms).");
    /// V11.
    MULTI_LINK_WITHOUT_NAME = ("E133", "multi-link-without-name", "V11", CorosyncT,
        "more than one link is configured and a node has no name",
        "parse error in config: for a multi-link configuration, all nodes must have a 'name' attribute");
    /// V12.
    UNEVEN_LINK_COUNT = ("E134", "uneven-link-count", "V12", CorosyncT,
        "more than one link is configured and the links do not all have the same number of nodes",
        "parse error in config: Not all nodes have the same number of links");
    /// V13.
    MIXED_IP_FAMILIES = ("E135", "mixed-ip-families", "V13", CorosyncT,
        "the nodes of one link mix IPv4 and IPv6 addresses",
        "parse error in config: Nodes for link %d have different IP families (compared %s with %s)");
    /// V14.
    DUPLICATE_NODEID = ("E136", "duplicate-nodeid", "V14", CorosyncT,
        "two nodes have the same nodeid (explicit or generated from ring0_addr)",
        "Nodeid %u appears twice in corosync.conf");
    /// V15.
    INVALID_LINK_MODE = ("E137", "invalid-link-mode", "V15", CorosyncT,
        "totem.link_mode is not active, passive or rr",
        "parse error in config: The Knet link mode \"%s\" specified is invalid.  It must be active, passive or rr.");
    /// V16.
    TOO_MANY_LINKS = ("E138", "too-many-links", "V16", CorosyncT,
        "udp or udpu with more than one link",
        "parse error in config: %d is too many configured interfaces for non-Knet transport.");
    /// V17.
    CRYPTO_WITHOUT_KNET = ("E139", "crypto-without-knet", "V17", CorosyncT,
        "crypto (crypto_cipher, crypto_hash or secauth) with udp or udpu",
        "parse error in config: crypto_cipher & crypto_hash are only valid for the Knet transport.");
    /// V4: a link only remote nodes have, with no interface section keys, never gets a port.
    LINK_WITHOUT_PORT = ("E140", "link-without-port", "V4", CorosyncT,
        "a link that only other nodes have an address on, and no interface section configures, has no port",
        "parse error in config: No multicast port specified for interface %u");
    /// 4.5: quorum provider.
    INVALID_QUORUM_PROVIDER = ("E201", "invalid-quorum-provider", "4.5 provider", CorosyncStartup,
        "quorum.provider is set but is not corosync_votequorum (or corosync_ykd)",
        "Invalid quorum provider");
    /// 4.5 / TV49.
    TWO_NODE_WITH_DEVICE = ("E202", "two-node-with-device", "4.5 two_node", CorosyncStartup,
        "two_node together with a quorum device",
        "configuration error: two_node and quorum device cannot be configured at the same time!");
    /// 4.5 / TV57.
    ATB_LMS_ODD_CLUSTER = ("E203", "atb-lms-odd-cluster", "4.5 atb+lms", CorosyncStartup,
        "auto_tie_breaker and last_man_standing on an odd nodelist vote sum without wait_for_all",
        "configuration error: auto_tie_breaker & last_man_standing not available in odd sized cluster");
    /// 4.5 / TV58.
    DEVICE_WITH_LMS = ("E204", "device-with-last-man-standing", "4.5 device+lms", CorosyncStartup,
        "a quorum device together with last_man_standing",
        "configuration error: quorum.device is not compatible with last_man_standing");
    /// 4.5.
    DEVICE_WITH_ATB = ("E205", "device-with-auto-tie-breaker", "4.5 device+atb", CorosyncStartup,
        "a quorum device together with auto_tie_breaker",
        "configuration error: quorum.device is not compatible with auto_tie_breaker");
    /// 4.5.
    DEVICE_WITH_DOWNSCALE = ("E206", "device-with-allow-downscale", "4.5 device+ad", CorosyncStartup,
        "a quorum device together with allow_downscale",
        "configuration error: quorum.device is not compatible with allow_downscale");
    /// 4.5 / TV60.
    DEVICE_VOTES_WITH_EXPECTED_VOTES = ("E207", "device-votes-required-by-expected-votes", "4.5 device+ev", CorosyncStartup,
        "a quorum device without votes while quorum.expected_votes is set",
        "configuration error: quorum.device.votes must be specified when quorum.expected_votes is set");
    /// 4.5 / TV59.
    DEVICE_VOTES_WITH_UNEQUAL_VOTES = ("E208", "device-votes-required-by-unequal-votes", "4.5 device+votes", CorosyncStartup,
        "a quorum device without votes while some node has quorum_votes other than 1",
        "configuration error: quorum.device.votes must be specified when not all nodes votes 1");
    /// 4.5 / TV61.
    DEVICE_VOTES_TOO_HIGH = ("E209", "device-votes-too-high", "4.5 device votes", CorosyncStartup,
        "quorum.expected_votes minus quorum.device.votes is below 2",
        "configuration error: quorum.device.votes is too high or expected_votes is too low");
}

/// The check with this code or name, if any.
pub fn find(code_or_name: &str) -> Option<&'static Check> {
    CHECKS
        .iter()
        .find(|check| check.code.eq_ignore_ascii_case(code_or_name) || check.name == code_or_name)
}
