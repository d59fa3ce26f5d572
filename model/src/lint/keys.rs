//! The keys and subsections corosync 3.1 reads in each section of corosync.conf.
//!
//! Owns `section_schema`, the table behind `unknown-key` and `unknown-section`, taken from
//! corosync.conf(5), votequorum(5), corosync-qdevice(8) and the key names the corosync 3.1.7
//! binary reads. It must not interpret values.

/// What corosync reads inside one section path.
pub(crate) struct SectionSchema {
    /// Dotted path, e.g. `totem.interface`.
    pub path: &'static str,
    /// Keys corosync (or corosync-qdevice) reads here.
    pub keys: &'static [&'static str],
    /// Subsection names allowed here.
    pub sections: &'static [&'static str],
    /// Any key is accepted here (sections whose keys are free-form or not documented).
    pub any_key: bool,
}

const LOGGING_KEYS: &[&str] = &[
    "timestamp",
    "fileline",
    "function_name",
    "blackbox",
    "to_stderr",
    "to_logfile",
    "to_syslog",
    "logfile",
    "logfile_priority",
    "syslog_facility",
    "syslog_priority",
    "debug",
    "tags",
];

const LOGGER_SUBSYS_KEYS: &[&str] = &[
    "subsys",
    "fileline",
    "function_name",
    "to_stderr",
    "to_logfile",
    "to_syslog",
    "logfile",
    "logfile_priority",
    "syslog_facility",
    "syslog_priority",
    "debug",
    "tags",
    "name",
];

/// The schema of every section path corosync knows. The root holds only sections.
pub(crate) const SCHEMAS: &[SectionSchema] = &[
    SectionSchema {
        path: "",
        keys: &[],
        sections: &[
            "totem",
            "logging",
            "quorum",
            "nodelist",
            "system",
            "resources",
            "uidgid",
            "nozzle",
            "qb",
        ],
        any_key: false,
    },
    SectionSchema {
        path: "totem",
        keys: &[
            "version",
            "nodeid",
            "threads",
            "token",
            "token_coefficient",
            "token_retransmit",
            "token_warning",
            "hold",
            "token_retransmits_before_loss_const",
            "join",
            "send_join",
            "consensus",
            "merge",
            "downcheck",
            "fail_recv_const",
            "seqno_unchanged_const",
            "heartbeat_failures_allowed",
            "max_network_delay",
            "window_size",
            "max_messages",
            "miss_count_const",
            "knet_pmtud_interval",
            "knet_mtu",
            "knet_compression_model",
            "knet_compression_threshold",
            "knet_compression_level",
            "netmtu",
            "config_version",
            "ip_version",
            "ip_dscp",
            "crypto_model",
            "crypto_cipher",
            "crypto_hash",
            "secauth",
            "keyfile",
            "key",
            "link_mode",
            "transport",
            "cluster_name",
            "clear_node_high_bit",
            "block_unlisted_ips",
            "cancel_token_hold_on_retransmit",
            "rrp_mode",
            "rrp_problem_count_timeout",
            "rrp_problem_count_threshold",
            "rrp_problem_count_mcast_threshold",
            "rrp_token_expired_timeout",
            "rrp_autorecovery_check_timeout",
        ],
        sections: &["interface"],
        any_key: false,
    },
    SectionSchema {
        path: "totem.interface",
        keys: &[
            "linknumber",
            "ringnumber",
            "bindnetaddr",
            "broadcast",
            "mcastaddr",
            "mcastport",
            "ttl",
            "knet_link_priority",
            "knet_ping_interval",
            "knet_ping_timeout",
            "knet_ping_precision",
            "knet_pong_count",
            "knet_transport",
        ],
        sections: &["member"],
        any_key: false,
    },
    SectionSchema {
        path: "totem.interface.member",
        keys: &["memberaddr"],
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "nodelist",
        keys: &[],
        sections: &["node"],
        any_key: false,
    },
    SectionSchema {
        path: "nodelist.node",
        keys: &["nodeid", "name", "quorum_votes"],
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "quorum",
        keys: &[
            "provider",
            "expected_votes",
            "votes",
            "two_node",
            "wait_for_all",
            "last_man_standing",
            "last_man_standing_window",
            "auto_tie_breaker",
            "auto_tie_breaker_node",
            "allow_downscale",
            "expected_votes_tracking",
            "leaving_timeout",
            "cancel_wait_for_all",
        ],
        sections: &["device"],
        any_key: false,
    },
    SectionSchema {
        path: "quorum.device",
        keys: &["model", "votes", "timeout", "sync_timeout", "master_wins"],
        sections: &["net", "heuristics"],
        any_key: false,
    },
    SectionSchema {
        path: "quorum.device.net",
        keys: &[
            "host",
            "port",
            "tls",
            "algorithm",
            "tie_breaker",
            "connect_timeout",
            "force_ip_version",
            "keep_active_partition_tie_breaker",
        ],
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "quorum.device.heuristics",
        keys: &["mode", "timeout", "sync_timeout", "interval"],
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "logging",
        keys: LOGGING_KEYS,
        sections: &["logger_subsys", "logging_daemon"],
        any_key: false,
    },
    SectionSchema {
        path: "logging.logger_subsys",
        keys: LOGGER_SUBSYS_KEYS,
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "logging.logging_daemon",
        keys: LOGGER_SUBSYS_KEYS,
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "system",
        keys: &[
            "qb_ipc_type",
            "sched_rr",
            "priority",
            "move_to_root_cgroup",
            "allow_knet_handle_fallback",
            "state_dir",
        ],
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "resources",
        keys: &["watchdog_device", "watchdog_timeout"],
        sections: &["system", "process"],
        any_key: false,
    },
    SectionSchema {
        path: "resources.system",
        keys: &[],
        sections: &[],
        any_key: true,
    },
    SectionSchema {
        path: "resources.process",
        keys: &[],
        sections: &[],
        any_key: true,
    },
    SectionSchema {
        path: "uidgid",
        keys: &["uid", "gid"],
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "nozzle",
        keys: &["name", "ipaddr", "ipprefix", "macaddr"],
        sections: &[],
        any_key: false,
    },
    SectionSchema {
        path: "qb",
        keys: &["ipc_type"],
        sections: &[],
        any_key: false,
    },
];

/// The schema of `path`, or `None` when corosync does not know that section at all.
pub(crate) fn section_schema(path: &str) -> Option<&'static SectionSchema> {
    SCHEMAS.iter().find(|schema| schema.path == path)
}

/// Whether corosync accepts `key` in the section at `path`, including the pattern keys
/// (`ringN_addr` in a node, `exec_NAME` in heuristics).
pub(crate) fn is_known_key(path: &str, key: &str) -> bool {
    let Some(schema) = section_schema(path) else {
        return true;
    };
    if schema.any_key || schema.keys.contains(&key) {
        return true;
    }
    match path {
        "nodelist.node" => ring_number(key).is_some(),
        "quorum.device.heuristics" => key.strip_prefix("exec_").is_some_and(|name| !name.is_empty()),
        _ => false,
    }
}

/// `N` of a `ringN_addr` key (any number of digits; validation refuses N >= 8).
pub(crate) fn ring_number(key: &str) -> Option<u32> {
    let digits = key.strip_prefix("ring")?.strip_suffix("_addr")?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Levenshtein distance between two short strings (byte-wise; keys are ASCII).
pub(crate) fn edit_distance(left: &str, right: &str) -> usize {
    let right = right.as_bytes();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (index, left_byte) in left.bytes().enumerate() {
        let mut current = vec![index + 1];
        for (column, right_byte) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_byte != *right_byte);
            let insertion = current[column] + 1;
            let deletion = previous[column + 1] + 1;
            current.push(substitution.min(insertion).min(deletion));
        }
        previous = current;
    }
    previous[right.len()]
}

/// The closest candidate to `word` within a distance of a third of its length (at least 1,
/// at most 3), preferring the first of equals.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.len() / 3).clamp(1, 3);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(word, candidate);
        if distance <= limit && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_keys_are_known() {
        assert!(is_known_key("nodelist.node", "ring7_addr"));
        assert!(is_known_key("quorum.device.heuristics", "exec_ping"));
        assert!(!is_known_key("quorum.device.heuristics", "exec_"));
        assert!(!is_known_key("totem", "tokken"));
        assert_eq!(closest("tokken", ["token", "join"]), Some("token"));
        assert_eq!(closest("two_nodes", ["two_node", "votes"]), Some("two_node"));
        assert_eq!(closest("zzz", ["token"]), None);
    }
}
