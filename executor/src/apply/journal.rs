//! The apply journal: append-only JSON lines, one fsync per record.
//!
//! Owns `Record` (what a line says), `Journal` (open for appending, mode 0600, each record
//! written whole, then fsynced) and `read` / `Progress` (what a journal says about a plan:
//! the last verified step, a step started and not verified, whether the run finished). It
//! never holds file contents or key bytes: records carry step ids, node names, hashes and
//! messages. It must not decide what to do about what it reads (`run` does).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One journal line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum Record {
    /// A run (or a resumed run) began.
    Begin {
        /// The plan's identity.
        plan_sha256: String,
        /// Unix time, ms.
        at_ms: u64,
        /// Whether it was a `--resume`.
        resume: bool,
    },
    /// A step's commands are about to run.
    StepStarted {
        /// The plan's identity.
        plan_sha256: String,
        /// The step id.
        step: u32,
        /// Unix time, ms.
        at_ms: u64,
    },
    /// One command finished on one node.
    CommandDone {
        /// The step id.
        step: u32,
        /// The node.
        node: String,
        /// The command as the plan writes it.
        command: String,
    },
    /// A step's postcondition was seen.
    StepVerified {
        /// The plan's identity.
        plan_sha256: String,
        /// The step id.
        step: u32,
        /// Unix time, ms.
        at_ms: u64,
        /// Per node, the sha256 of its corosync.conf as seen.
        config_sha256_by_node: BTreeMap<String, Option<String>>,
    },
    /// The run stopped at a step.
    Stopped {
        /// The step id.
        step: u32,
        /// Why.
        reason: String,
    },
    /// Every step was verified.
    Done {
        /// The plan's identity.
        plan_sha256: String,
        /// Unix time, ms.
        at_ms: u64,
    },
}

/// A journal problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The file could not be read, opened, written or synced.
    #[error("journal {}: {source}", path.display())]
    Io {
        /// The journal.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A line that is not a record.
    #[error("journal {}:{line}: not a journal record: {message}", path.display())]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// serde's message.
        message: String,
    },
}

/// An open journal, appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: std::fs::File,
}

/// Unix time in ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

impl Journal {
    /// Opens (creating, mode 0600) `path` for appending.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| JournalError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
        })
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `record` as one line and fsyncs the file.
    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_string(record).map_err(|error| io(std::io::Error::other(error)))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_all().map_err(io)
    }
}

/// Every record of the journal at `path`; an absent journal has none.
pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(record) => records.push(record),
            // A crash while writing can only cut the last line: it is ignored.
            Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(error) => {
                return Err(JournalError::Corrupt {
                    path: path.to_path_buf(),
                    line: index + 1,
                    message: error.to_string(),
                })
            }
        }
    }
    Ok(records)
}

/// What a journal says about one plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Whether any record names the plan.
    pub seen: bool,
    /// The highest step verified (0: none).
    pub last_verified: u32,
    /// A step started after the last verified one and not verified.
    pub interrupted: Option<u32>,
    /// Whether the run finished.
    pub done: bool,
    /// Plans other than this one the journal names.
    pub other_plans: Vec<String>,
}

impl Progress {
    fn note_other(&mut self, sha: &str) {
        if !self.other_plans.iter().any(|other| other == sha) {
            self.other_plans.push(sha.to_string());
        }
    }
}

/// The progress of plan `plan_sha256` in `records`.
pub fn progress(records: &[Record], plan_sha256: &str) -> Progress {
    let mut progress = Progress::default();
    for record in records {
        match record {
            Record::Begin { plan_sha256: sha, .. } | Record::Done { plan_sha256: sha, .. }
                if sha != plan_sha256 =>
            {
                progress.note_other(sha)
            }
            Record::Begin { .. } => progress.seen = true,
            Record::StepStarted {
                plan_sha256: sha,
                step,
                ..
            } if sha == plan_sha256 => {
                progress.seen = true;
                if *step > progress.last_verified {
                    progress.interrupted = Some(*step);
                }
            }
            Record::StepVerified {
                plan_sha256: sha,
                step,
                ..
            } if sha == plan_sha256 => {
                progress.seen = true;
                progress.last_verified = progress.last_verified.max(*step);
                if progress.interrupted.is_some_and(|started| started <= *step) {
                    progress.interrupted = None;
                }
            }
            Record::Done { .. } => progress.done = true,
            _ => {}
        }
    }
    progress
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_reads_back_and_tells_the_progress() {
        let path = std::env::temp_dir().join(format!("quorate-journal-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut journal = Journal::open(&path).unwrap();
        let sha = "p".to_string();
        journal
            .append(&Record::Begin {
                plan_sha256: sha.clone(),
                at_ms: 1,
                resume: false,
            })
            .unwrap();
        for step in [1, 2] {
            journal
                .append(&Record::StepStarted {
                    plan_sha256: sha.clone(),
                    step,
                    at_ms: 2,
                })
                .unwrap();
        }
        journal
            .append(&Record::StepVerified {
                plan_sha256: sha.clone(),
                step: 1,
                at_ms: 3,
                config_sha256_by_node: BTreeMap::from([("n1".to_string(), None)]),
            })
            .unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A line cut by a crash at the end is ignored.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"record\":\"step_st")
            .unwrap();
        let records = read(&path).unwrap();
        assert_eq!(records.len(), 4);
        let progress = progress(&records, &sha);
        assert_eq!(
            (
                progress.seen,
                progress.last_verified,
                progress.interrupted,
                progress.done
            ),
            (true, 1, Some(2), false)
        );
        assert!(!super::progress(&records, "other").seen);
        std::fs::write(&path, "garbage\n{}\n").unwrap();
        let error = read(&path).unwrap_err().to_string();
        assert!(error.contains(":1: not a journal record"), "{error}");
        std::fs::remove_file(&path).unwrap();
        assert!(read(&path).unwrap().is_empty());
    }
}
