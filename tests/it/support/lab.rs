//! Labs for tests: a directory per test and process, removed however the test ends.
//!
//! Owns `LabGuard` (the lab directory `/run/quorate/<name>-<pid>` and, optionally, a config
//! file given to `lab up`; dropping it runs `lab down`, removes the file and then the directory, also when an
//! assertion failed) and `lab` (run `quorate lab --dir DIR ...` in-process and insist on
//! success). Nothing here asserts product behaviour.

use super::quorate;
use std::path::{Path, PathBuf};

/// Removes the lab (and the config file given to it, if any) when the test ends.
pub struct LabGuard {
    /// The lab directory.
    pub dir: PathBuf,
    /// A config file written for `lab up --config`, removed with the lab.
    pub config: Option<PathBuf>,
}

impl LabGuard {
    /// A guard for lab `name` of this process: `/run/quorate/<name>-<pid>` (names are unique
    /// per process, so parallel runs from different worktrees do not collide).
    pub fn new(name: &str) -> LabGuard {
        LabGuard {
            dir: PathBuf::from(format!("/run/quorate/{name}-{}", std::process::id())),
            config: None,
        }
    }

    /// The same guard, also owning `config_text` written to a temporary config file, which
    /// it returns.
    pub fn with_config(mut self, config_text: &str) -> (LabGuard, PathBuf) {
        let name = self
            .dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!("quorate-{name}.conf"));
        std::fs::write(&path, config_text).unwrap();
        self.config = Some(path.clone());
        (self, path)
    }

    /// The lab directory as text, for command lines.
    pub fn dir_text(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        // `lab down` removes what the lab made; the files a test wrote there (plans,
        // journals) go with the directory, which is this test's own (name and pid). After a
        // failed `down` the directory stays: its lab.json is what a later `lab down` needs.
        if executor::lab::down(&self.dir, &mut |_| {}).is_ok() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if let Some(config) = &self.config {
            let _ = std::fs::remove_file(config);
        }
    }
}

/// Runs `quorate lab --dir DIR ARGS` in-process and insists on success; returns stdout.
pub fn lab(dir: &Path, args: &[&str]) -> String {
    let dir_text = dir.to_string_lossy();
    let mut all = vec!["lab", "--dir", &dir_text];
    all.extend_from_slice(args);
    let (code, out, err) = quorate(&all);
    assert_eq!(code, 0, "quorate {all:?} failed\nstdout:\n{out}\nstderr:\n{err}");
    out
}
