//! The totem timings the lab waits by.
//!
//! Owns `Timing`: the effective token and consensus of a corosync.conf, read from
//! `model::config::Config`'s effective values (corosync 3.1's `totem_volatile_config_read`,
//! spec section 3.4: the coefficient applies per node beyond two among the nodelist entries
//! with `ring0_addr`; consensus defaults to `(int)(1.2 * token_eff)`). It must not do IO.

use model::syntax::Document;

/// Effective totem timings of a configuration, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// The effective token timeout (token plus the coefficient share).
    pub token_ms: u64,
    /// The consensus timeout.
    pub consensus_ms: u64,
}

impl Timing {
    /// The effective timings of `document`; corosync's defaults stand in for missing or
    /// unreadable values (corosync itself would refuse unreadable ones; `quorate lint` says so).
    pub fn of(document: &Document) -> Timing {
        let (config, _diagnostics) = model::config::Config::from_document(document);
        Timing {
            token_ms: u64::from(config.effective.token),
            consensus_ms: u64::from(config.effective.consensus),
        }
    }

    /// About how long a membership change takes to be noticed and settled: token plus
    /// consensus (spec section 3.5).
    pub fn membership_change_ms(&self) -> u64 {
        self.token_ms + self.consensus_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(text: &str) -> Timing {
        Timing::of(&model::syntax::parse(text).0)
    }

    fn nodes(count: usize) -> String {
        let mut text = String::from("nodelist {\n");
        for id in 1..=count {
            text.push_str(&format!(
                "  node {{\n    nodeid: {id}\n    ring0_addr: 10.0.0.{id}\n  }}\n"
            ));
        }
        text.push_str("}\n");
        text
    }

    #[test]
    fn matches_the_spec_table_for_default_timings() {
        assert_eq!(
            timing(&nodes(2)),
            Timing {
                token_ms: 3000,
                consensus_ms: 3600
            }
        );
        assert_eq!(
            timing(&nodes(3)),
            Timing {
                token_ms: 3650,
                consensus_ms: 4380
            }
        );
        assert_eq!(timing(&nodes(5)).membership_change_ms(), 10890);
        assert_eq!(timing(&nodes(8)).membership_change_ms(), 15180);
    }

    #[test]
    fn honours_token_coefficient_and_consensus_settings() {
        let text = format!(
            "totem {{\n  token: 1000\n  token_coefficient: 0\n}}\n{}",
            nodes(4)
        );
        assert_eq!(
            timing(&text),
            Timing {
                token_ms: 1000,
                consensus_ms: 1200
            }
        );
        let text = format!("totem {{\n  consensus: 9000\n}}\n{}", nodes(3));
        assert_eq!(
            timing(&text),
            Timing {
                token_ms: 3650,
                consensus_ms: 9000
            }
        );
    }
}
