//! `lab down`: removing a lab, whatever state it is in.
//!
//! Owns `down` (kill every process in the lab's namespaces, found by the inodes `lab.json`
//! recorded and by namespace name prefix, delete the namespaces with their bridges and
//! veths, remove what the lab wrote in its directory) and nothing else. It works without a
//! state file and after a crash, and it is idempotent. It must not remove anything the lab
//! did not make.

use super::state::{self, LabState};
use super::{lab_name, namespace_prefix, sys, DownReport, INVENTORY_FILE};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// Removes the lab in `dir`: kills every process in its namespaces, deletes the namespaces
/// (with their bridges and veths) and the lab directory. Idempotent; works without a state
/// file (by namespace prefix) and after a crash.
pub fn down(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<DownReport> {
    if !sys::is_root() {
        return Err(Error::NotRoot);
    }
    let state = match LabState::load(dir) {
        Ok(state) => state,
        Err(error) => {
            progress(&format!("{error}"));
            None
        }
    };
    let name = state
        .as_ref()
        .map_or_else(|| lab_name(dir), |state| state.name.clone());
    let mut namespaces: BTreeSet<String> = sys::netns_with_prefix(&namespace_prefix(&name))
        .into_iter()
        .collect();
    let mut inodes = BTreeSet::new();
    if let Some(state) = &state {
        namespaces.extend(state.namespaces.keys().cloned());
        inodes.extend(state.namespaces.values().flatten().copied());
    }
    inodes.extend(
        namespaces
            .iter()
            .filter_map(|netns| sys::namespace_inode(&sys::netns_path(netns))),
    );
    let mut report = DownReport::default();
    let pids = sys::processes_in(&inodes);
    report.processes = pids.len();
    if !pids.is_empty() {
        // Nothing of a lab node outlives the lab: no need for a graceful corosync leave.
        sys::kill(&pids, "KILL");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !sys::processes_in(&inodes).is_empty() {
            if Instant::now() > deadline {
                return Err(Error::Lab {
                    dir: dir.to_path_buf(),
                    message: format!("processes {:?} survived SIGKILL", sys::processes_in(&inodes)),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        progress(&format!("killed {} processes", report.processes));
    }
    for netns in &namespaces {
        if sys::netns_path(netns).exists() {
            sys::run("ip", &["netns", "del", netns])?;
            report.namespaces.push(netns.clone());
        }
    }
    if !report.namespaces.is_empty() {
        progress(&format!("deleted namespaces {}", report.namespaces.join(", ")));
    }
    report.removed_dir = remove_lab_dir(dir)?;
    Ok(report)
}

/// Removes what the lab wrote into `dir`, then `dir` itself if that left it empty.
fn remove_lab_dir(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    for entry in ["nodes", "ssh", "ctl", "qnetd"] {
        let path = dir.join(entry);
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(|error| Error::io(&path, error))?;
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(false);
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let ours = matches!(
            file_name.as_str(),
            "corosync.conf" | INVENTORY_FILE | state::STATE_FILE
        ) || file_name.starts_with(".lab.json.tmp.")
            || file_name.starts_with(".corosync.conf.tmp.")
            || file_name.starts_with(".inventory.toml.tmp.");
        if ours {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|error| Error::io(&path, error))?;
        }
    }
    Ok(std::fs::remove_dir(dir).is_ok())
}
