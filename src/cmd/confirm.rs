//! `--confirm` of `quorate check` and `lint --prove`: a model's counterexample against real
//! corosync, on a throwaway lab built from the checked file.
//!
//! Owns `ConfirmLab` (a lab in `/run/quorate/cf<pid>x<n>`, removed when the value is dropped
//! and, through `executor::lab::interrupt`, on SIGINT/SIGTERM/SIGHUP), the replay attempts
//! of one counterexample (`lab replay`'s machinery, `executor::lab::replay`), the verdict on
//! the real readings (two disjoint memberships quorate at once; a node alone in its ring and
//! quorate without a majority of its own) and its rendering. A counterexample the model found
//! may need a timing the lab cannot force (a delivery order, a leave noticed before a join),
//! so it is replayed up to `ATTEMPTS` times from a freshly restarted cluster, and counts as
//! confirmed as soon as one replay shows the violation. It must not decide the model's
//! verdicts (see `sim::check`), only hold them against reality.

use anyhow::Context;
use executor::lab::interrupt::DownOnInterrupt;
use executor::lab::replay::{self, NodeComparison, Reading, ReplayOptions, StepComparison};
use executor::lab::{ClusterSource, Lab, UpOptions};
use model::quorum::QuorumSettings;
use model::scenario::Step;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// Replays of one counterexample before it counts as not confirmed.
pub const ATTEMPTS: u32 = 3;

/// Numbers the confirmation labs of this process.
static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// The message for `--confirm` without root.
pub const NEEDS_ROOT: &str =
    "--confirm replays counterexamples on a lab of real corosync in network namespaces, \
     which needs root (effective uid 0): run it as root (e.g. with sudo), or drop --confirm";

/// Whether this process may build a lab (effective uid 0).
pub fn is_root() -> bool {
    executor::lab::sys::is_root()
}

/// What real corosync did with one counterexample.
#[derive(Clone, Debug, Serialize)]
pub struct Confirmation {
    /// `true`: some replay showed the violation; `false`: none of `attempts` did; `null`:
    /// the counterexample could not be replayed (see `summary`).
    pub confirmed: Option<bool>,
    /// The corosync version the lab ran (`corosync -v`).
    pub corosync: Option<String>,
    /// Replays run.
    pub attempts: u32,
    /// The step shown in `nodes` (1-based; the violating one, else the last), if any.
    pub step: Option<usize>,
    /// That step as written.
    pub command: Option<String>,
    /// One sentence: what reality showed, or why nothing was replayed.
    pub summary: String,
    /// The model's prediction (`quorate whatif`) and the real reading of every node at `step`.
    pub nodes: Vec<NodeComparison>,
}

impl Confirmation {
    /// Nothing was replayed, for the reason `summary` gives.
    pub fn not_replayed(summary: String, corosync: Option<String>) -> Confirmation {
        Confirmation {
            confirmed: None,
            corosync,
            attempts: 0,
            step: None,
            command: None,
            summary,
            nodes: Vec::new(),
        }
    }

    /// The heading line: `confirmed on corosync 3.1.7 ...` or `not confirmed ...`.
    pub fn headline(&self) -> String {
        let version = self.corosync.as_deref().unwrap_or("unknown version");
        match self.confirmed {
            Some(true) => format!(
                "confirmed on corosync {version} (replay {} of at most {ATTEMPTS}): {}",
                self.attempts, self.summary
            ),
            Some(false) => format!(
                "not confirmed on corosync {version} ({} replays): {}",
                self.attempts, self.summary
            ),
            None => format!("not replayed on a lab: {}", self.summary),
        }
    }

    /// The headline and, when there are readings, a table of model against reality.
    pub fn human(&self, indent: &str) -> String {
        let mut text = format!("{indent}{}\n", self.headline());
        if self.nodes.is_empty() {
            return text;
        }
        let mut rows = vec![[
            "NODE".to_string(),
            "MODEL (whatif)".to_string(),
            "REAL".to_string(),
        ]];
        for node in &self.nodes {
            let model = reading_text(&node.predicted);
            let real = reading_text(&node.real);
            rows.push([node.name.clone(), model, real]);
        }
        let widths: Vec<usize> = (0..3)
            .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
            .collect();
        if let (Some(step), Some(command)) = (self.step, &self.command) {
            text.push_str(&format!("{indent}  after step {step} `{command}`:\n"));
        }
        for row in &rows {
            let line = format!(
                "{:w0$}  {:w1$}  {}",
                row[0],
                row[1],
                row[2],
                w0 = widths[0],
                w1 = widths[1]
            );
            text.push_str(&format!("{indent}    {}\n", line.trim_end()));
        }
        text
    }
}

/// `quorate yes, members 1,4, votes 2/4, quorum 3`, or the corosync state.
fn reading_text(reading: &Reading) -> String {
    if reading.corosync != "running" {
        return reading.corosync.to_string();
    }
    let quorate = match reading.quorate {
        Some(true) => "quorate",
        Some(false) => "inquorate",
        None => "?",
    };
    let members = reading.members.as_ref().map_or_else(
        || "?".to_string(),
        |ids| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(","),
    );
    let number = |value: Option<u32>| value.map_or_else(|| "?".to_string(), |v| v.to_string());
    format!(
        "{quorate} {{{members}}} votes {}/{} quorum {}",
        number(reading.total_votes),
        number(reading.expected_votes),
        number(reading.quorum)
    )
}

/// The version `corosync -v` prints (`Corosync Cluster Engine, version '3.1.7'`).
pub fn corosync_version() -> Option<String> {
    let output = std::process::Command::new("corosync").arg("-v").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let start = text.find("version '")? + "version '".len();
    let length = text[start..].find('\'')?;
    Some(text[start..start + length].to_string())
}

/// The safety violation the real readings of one step show, as a sentence, if any.
/// `property` is a `sim::check` property name; `settings` gives the configured votes.
pub fn real_violation(property: &str, nodes: &[NodeComparison], settings: &QuorumSettings) -> Option<String> {
    let running: Vec<(&NodeComparison, Vec<u32>)> = nodes
        .iter()
        .filter(|node| node.real.corosync == "running")
        .filter_map(|node| Some((node, node.real.members.clone()?)))
        .collect();
    let quorate: Vec<&(&NodeComparison, Vec<u32>)> = running
        .iter()
        .filter(|(node, _)| node.real.quorate == Some(true))
        .collect();
    let set = |ids: &[u32]| {
        let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
        format!("{{{}}}", ids.join(","))
    };
    match property {
        sim::check::NO_SPLIT_BRAIN => {
            for (index, (_, first)) in quorate.iter().enumerate() {
                for (_, second) in &quorate[index + 1..] {
                    if first.iter().all(|id| !second.contains(id)) {
                        return Some(format!("{} and {} are quorate at once", set(first), set(second)));
                    }
                }
            }
            None
        }
        sim::check::ISOLATED_NODE_NEVER_QUORATE => {
            let total: u32 = settings.nodes.iter().map(|node| node.votes).sum();
            quorate.iter().find_map(|(node, members)| {
                let alone = members.as_slice() == [node.nodeid];
                let others_run = running.iter().any(|(other, _)| other.nodeid != node.nodeid);
                let votes = settings
                    .nodes
                    .iter()
                    .find(|entry| entry.nodeid == node.nodeid)
                    .map_or(1, |entry| entry.votes);
                (alone && others_run && votes * 2 <= total)
                    .then(|| format!("{} is alone in its ring and quorate", node.name))
            })
        }
        _ => None,
    }
}

/// A throwaway lab of the checked configuration; removed on drop and on an interrupt.
pub struct ConfirmLab {
    dir: PathBuf,
    config: PathBuf,
    /// Whether the cluster has been replayed on since it formed (the next replay restarts it).
    used: bool,
    /// The corosync version the lab runs.
    version: Option<String>,
    _interrupt: DownOnInterrupt,
}

impl ConfirmLab {
    /// Builds a lab from `config_text` (its addresses rewritten to lab addresses) and starts
    /// corosync on every node. Progress lines go to `err`.
    pub fn up(config_text: &str, err: &mut dyn Write) -> anyhow::Result<ConfirmLab> {
        let pid = std::process::id();
        let number = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let dir = PathBuf::from(format!("/run/quorate/cf{pid}x{number}"));
        let config = std::env::temp_dir().join(format!("quorate-confirm-{pid}-{number}.conf"));
        let interrupt = DownOnInterrupt::new(&dir)?;
        // From here on, Drop removes the lab and the file, whatever fails next.
        let lab = ConfirmLab {
            dir,
            config,
            used: false,
            version: corosync_version(),
            _interrupt: interrupt,
        };
        std::fs::write(&lab.config, config_text)
            .with_context(|| format!("cannot write {}", lab.config.display()))?;
        let _ = writeln!(err, "confirm: building a lab in {}", lab.dir.display());
        executor::lab::up(
            &UpOptions {
                dir: lab.dir.clone(),
                source: ClusterSource::Config(lab.config.clone()),
                start: true,
                spare: 0,
                spare_links: 0,
                spare_addresses: false,
                qdevice: None,
            },
            &mut |line| {
                let _ = writeln!(err, "confirm: {line}");
            },
        )?;
        Ok(lab)
    }

    /// Replays `counterexample` (from the formed cluster) up to `ATTEMPTS` times and judges
    /// the real readings of every step against `property`.
    pub fn confirm(
        &mut self,
        property: &str,
        counterexample: &[Step],
        settings: &QuorumSettings,
        err: &mut dyn Write,
    ) -> Confirmation {
        let script: Vec<String> = counterexample.iter().map(Step::to_string).collect();
        let script = script.join("\n");
        let mut last: Option<StepComparison> = None;
        let mut last_index = 0;
        for attempt in 1..=ATTEMPTS {
            let mut lab = match Lab::open(&self.dir) {
                Ok(lab) => lab,
                Err(error) => return Confirmation::not_replayed(error.to_string(), self.version.clone()),
            };
            let options = ReplayOptions {
                fresh: self.used,
                files_dir: None,
            };
            self.used = true;
            let _ = writeln!(err, "confirm: {property}: replay {attempt} of at most {ATTEMPTS}");
            let report = match replay::replay(&mut lab, &script, &options, &mut |line| {
                let _ = writeln!(err, "confirm: {line}");
            }) {
                Ok(report) => report,
                Err(error) => {
                    let mut confirmation = Confirmation::not_replayed(
                        format!("the lab cannot replay this counterexample: {error}"),
                        self.version.clone(),
                    );
                    confirmation.attempts = attempt - 1;
                    return confirmation;
                }
            };
            // Index 0 of the report is the start, before the first step.
            for (index, step) in report.steps.iter().enumerate().skip(1) {
                if let Some(summary) = real_violation(property, &step.nodes, settings) {
                    return Confirmation {
                        confirmed: Some(true),
                        corosync: self.version.clone(),
                        attempts: attempt,
                        step: Some(index),
                        command: Some(step.command.clone()),
                        summary,
                        nodes: step.nodes.clone(),
                    };
                }
            }
            last_index = report.steps.len().saturating_sub(1);
            last = report.steps.into_iter().last();
        }
        Confirmation {
            confirmed: Some(false),
            corosync: self.version.clone(),
            attempts: ATTEMPTS,
            step: (last_index > 0).then_some(last_index),
            command: last.as_ref().map(|step| step.command.clone()),
            summary: "no replay showed the violation".to_string(),
            nodes: last.map(|step| step.nodes).unwrap_or_default(),
        }
    }
}

impl Drop for ConfirmLab {
    fn drop(&mut self) {
        if let Err(error) = executor::lab::down(&self.dir, &mut |_| {}) {
            eprintln!(
                "error: could not remove the lab in {}: {error}",
                self.dir.display()
            );
        }
        let _ = std::fs::remove_file(&self.config);
    }
}

/// Confirms every violated safety property of `report` that has a counterexample, on one
/// lab built from `config_text`; one entry per property of `report` (`None`: nothing to
/// confirm). When the lab cannot be built, each such property gets a `null` confirmation
/// saying why.
pub fn confirm_report(
    config_text: &str,
    settings: &QuorumSettings,
    report: &sim::check::CheckReport,
    err: &mut dyn Write,
) -> Vec<Option<Confirmation>> {
    let wanted = |verdict: &sim::check::PropertyVerdict| {
        verdict.kind == sim::check::PropertyKind::Safety
            && !verdict.holds
            && !verdict.counterexample.is_empty()
    };
    if !report.properties.iter().any(wanted) {
        return vec![None; report.properties.len()];
    }
    let mut lab = match ConfirmLab::up(config_text, err) {
        Ok(lab) => Some(lab),
        Err(error) => {
            let summary = format!("the lab could not be built: {error:#}");
            return report
                .properties
                .iter()
                .map(|verdict| {
                    wanted(verdict).then(|| Confirmation::not_replayed(summary.clone(), corosync_version()))
                })
                .collect();
        }
    };
    let confirmations = report
        .properties
        .iter()
        .map(|verdict| {
            if !wanted(verdict) {
                return None;
            }
            lab.as_mut()
                .map(|lab| lab.confirm(verdict.name, &verdict.counterexample, settings, err))
        })
        .collect();
    drop(lab.take());
    confirmations
}
