//! `logging {}`: reading it and the value checks corosync's logconfig.c makes (spec 4.2 L1,
//! `corosync -t` exits with status 7).
//!
//! Owns `read_logging` and `check_logging`. It must not check anything logconfig.c does not.

use std::collections::BTreeMap;

use super::cmap::Cmap;
use super::{LoggerSubsys, Logging, Setting};
use crate::diag::Diagnostic;
use crate::validate::checks;

/// Reads `logging.*` from cmap: top-level keys and `logger_subsys` sections by subsys.
pub(super) fn read_logging(cmap: &Cmap) -> Logging {
    let mut logging = Logging::default();
    for (key, raw) in cmap.with_prefix("logging.") {
        let rest = &key["logging.".len()..];
        if let Some(subsys_key) = rest.strip_prefix("logger_subsys.") {
            if let Some((subsys, field)) = subsys_key.split_once('.') {
                logging
                    .logger_subsys
                    .entry(subsys.to_string())
                    .or_insert_with(LoggerSubsys::default)
                    .keys
                    .insert(field.to_string(), Setting::new(raw.value.clone(), raw));
            }
        } else if !rest.starts_with("logging_daemon.") {
            logging
                .keys
                .insert(rest.to_string(), Setting::new(raw.value.clone(), raw));
        }
    }
    logging
}

/// `to_stderr`, `to_logfile` and `to_syslog` take yes/no and also on/off (verified with
/// `corosync -t` 3.1.7 on a corpus file with `to_stderr: on`).
const YES_NO: &[&str] = &["yes", "no", "on", "off"];
const ON_OFF: &[&str] = &["on", "off"];
/// `qb_log_facility2int` names (case-sensitive).
const FACILITIES: &[&str] = &[
    "auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog", "user", "uucp",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];
/// syslog level names logsys accepts (compared case-insensitively).
const LEVELS: &[&str] = &[
    "emerg", "alert", "crit", "err", "error", "warning", "notice", "info", "debug",
];

/// (key, allowed values, case-insensitive, corosync's reason, checked in logger_subsys too).
const RULES: &[(&str, &[&str], bool, &str, bool)] = &[
    ("to_stderr", YES_NO, false, "unknown value for to_stderr", true),
    ("to_logfile", YES_NO, false, "unknown value for to_logfile", true),
    ("to_syslog", YES_NO, false, "unknown value for to_syslog", true),
    (
        "syslog_facility",
        FACILITIES,
        false,
        "unknown syslog facility specified",
        true,
    ),
    (
        "syslog_priority",
        LEVELS,
        true,
        "unknown syslog priority specified",
        true,
    ),
    (
        "syslog_level",
        LEVELS,
        true,
        "unknown syslog level specified",
        true,
    ),
    (
        "logfile_priority",
        LEVELS,
        true,
        "unknown logfile priority specified",
        true,
    ),
    (
        "debug",
        &["on", "off", "trace"],
        false,
        "unknown value for debug",
        true,
    ),
    ("fileline", ON_OFF, false, "unknown value for fileline", false),
    (
        "function_name",
        ON_OFF,
        false,
        "unknown value for function_name",
        false,
    ),
    (
        "timestamp",
        &["on", "off", "hires"],
        false,
        "unknown value for timestamp",
        false,
    ),
    ("blackbox", ON_OFF, false, "unknown value for blackbox", false),
];

fn check_keys(keys: &BTreeMap<String, Setting<String>>, in_subsys: bool, out: &mut Vec<Diagnostic>) {
    for (key, allowed, ignore_case, reason, subsys_too) in RULES {
        if in_subsys && !subsys_too {
            continue;
        }
        let Some(setting) = keys.get(*key) else {
            continue;
        };
        let known = allowed.iter().any(|candidate| {
            if *ignore_case {
                candidate.eq_ignore_ascii_case(&setting.value)
            } else {
                *candidate == setting.value
            }
        });
        if !known {
            out.push(checks::INVALID_LOGGING_VALUE.diagnostic(
                format!(
                    "logging `{key}` must be one of {}, not \"{}\"",
                    allowed.join(", "),
                    setting.value
                ),
                Some(setting.value_span),
                &format!("parse error in config: {reason}."),
            ));
        }
    }
}

/// The L1 refusals: logging values corosync does not know.
pub(super) fn check_logging(logging: &Logging) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    check_keys(&logging.keys, false, &mut out);
    for subsys in logging.logger_subsys.values() {
        check_keys(&subsys.keys, true, &mut out);
    }
    out
}
