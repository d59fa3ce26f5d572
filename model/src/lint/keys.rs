//! The keys and subsections corosync 3.1 reads in each section of corosync.conf.
//!
//! Owns `section_schema`, the table behind `unknown-key` and `unknown-section`, taken from
//! corosync.conf(5), votequorum(5), corosync-qdevice(8) and the key names the corosync 3.1.7
//! binary reads; the totem keys are `config::cmap::TOTEM_KEYS`, the one list that also
//! gives their cmap types, and the interface keys `config::cmap::INTERFACE_KEYS`. It must
//! not interpret values.

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
        keys: &crate::config::cmap::TOTEM_KEY_NAMES,
        sections: &["interface"],
        any_key: false,
    },
    SectionSchema {
        path: "totem.interface",
        keys: crate::config::cmap::INTERFACE_KEYS,
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

/// The `ringN_addr` keys corosync accepts (N from 0 to 7), as suggestions for misspelt ones.
const RING_ADDR_KEYS: [&str; 8] = [
    "ring0_addr",
    "ring1_addr",
    "ring2_addr",
    "ring3_addr",
    "ring4_addr",
    "ring5_addr",
    "ring6_addr",
    "ring7_addr",
];

/// The key names to suggest for an unknown key in `schema`: its keys, plus the pattern keys
/// spelt out (`ring0_addr`...`ring7_addr` in a node).
pub(crate) fn suggestion_candidates(schema: &SectionSchema) -> impl Iterator<Item = &'static str> {
    let rings: &'static [&'static str] = if schema.path == "nodelist.node" {
        &RING_ADDR_KEYS
    } else {
        &[]
    };
    schema.keys.iter().copied().chain(rings.iter().copied())
}

/// Edit distance between two short strings (byte-wise; keys are ASCII) counting a
/// substitution (`ringO_addr` for `ring0_addr`), insertion, deletion, or transposition of
/// neighbours (`tokne` for `token`) as one edit (optimal string alignment distance; plain
/// Levenshtein counts a transposition as two, too many for a five-letter key).
pub(crate) fn edit_distance(left: &str, right: &str) -> usize {
    let left = left.as_bytes();
    let right = right.as_bytes();
    let width = right.len() + 1;
    let mut table = vec![0usize; (left.len() + 1) * width];
    for row in 0..=left.len() {
        table[row * width] = row;
    }
    for (column, cell) in table.iter_mut().enumerate().take(width) {
        *cell = column;
    }
    for row in 1..=left.len() {
        for column in 1..=right.len() {
            let same = left[row - 1] == right[column - 1];
            let substitution = table[(row - 1) * width + column - 1] + usize::from(!same);
            let deletion = table[(row - 1) * width + column] + 1;
            let insertion = table[row * width + column - 1] + 1;
            let mut best = substitution.min(deletion).min(insertion);
            if row > 1
                && column > 1
                && left[row - 1] == right[column - 2]
                && left[row - 2] == right[column - 1]
            {
                best = best.min(table[(row - 2) * width + column - 2] + 1);
            }
            table[row * width + column] = best;
        }
    }
    table[left.len() * width + right.len()]
}

/// `word` with the letters people type for look-alike digits replaced by the digit
/// (`o` → `0`, `l` and `i` → `1`, `s` → `5`), lowercase: `ringl_addr` and `ring1_addr` then
/// read the same, so the look-alike wins a tie (`ringl_addr` means `ring1_addr`, not
/// `ring0_addr`).
fn unconfused(word: &str) -> String {
    word.chars()
        .map(|ch| match ch.to_ascii_lowercase() {
            'o' => '0',
            'l' | 'i' => '1',
            's' => '5',
            other => other,
        })
        .collect()
}

/// The closest candidate to `word` within a distance of a third of its length (at least 1,
/// at most 3); among equals the one closest once look-alike digits are undone, then the
/// first.
pub(crate) fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.len() / 3).clamp(1, 3);
    let plain = unconfused(word);
    let mut best: Option<((usize, usize), &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(word, candidate);
        if distance > limit {
            continue;
        }
        let rank = (distance, edit_distance(&plain, &unconfused(candidate)));
        if best.is_none_or(|(best_rank, _)| rank < best_rank) {
            best = Some((rank, candidate));
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

    /// Digit/letter confusions and transpositions get a suggestion. See: issue 10 item 13.
    #[test]
    fn issue10_typo_suggestions_cover_confusions_and_transpositions() {
        let node = section_schema("nodelist.node").unwrap();
        assert_eq!(
            closest("ringO_addr", suggestion_candidates(node)),
            Some("ring0_addr")
        );
        assert_eq!(
            closest("ringl_addr", suggestion_candidates(node)),
            Some("ring1_addr")
        );
        let totem = section_schema("totem").unwrap();
        assert_eq!(closest("tokne", suggestion_candidates(totem)), Some("token"));
        assert_eq!(
            closest("consenus", suggestion_candidates(totem)),
            Some("consensus")
        );
        let quorum = section_schema("quorum").unwrap();
        assert_eq!(
            closest("tow_node", suggestion_candidates(quorum)),
            Some("two_node")
        );
        assert_eq!(edit_distance("tokne", "token"), 1);
        assert_eq!(edit_distance("ringO_addr", "ring0_addr"), 1);
        assert_eq!(edit_distance("token", "token"), 0);
    }
}
