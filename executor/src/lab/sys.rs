//! The lab's process and namespace plumbing: small functions around `ip`, `nsenter`,
//! `unshare`, `iptables`, `ssh-keygen` and `kill`.
//!
//! Owns running a program and turning its failure into `Error::Command`, starting a daemon
//! detached from us (so it outlives `lab up` and is reaped by init, not left a zombie),
//! finding processes by network namespace, and the privilege and program checks. It must not
//! decide what the lab does: `lab::mod` composes these.

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Directories searched for programs besides `PATH` (root's sbin directories are not always
/// in a test runner's PATH).
const EXTRA_PATH: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// Programs the lab runs, with the Debian package that ships each.
pub const REQUIRED_PROGRAMS: [(&str, &str); 14] = [
    ("ip", "iproute2"),
    ("unshare", "util-linux"),
    ("nsenter", "util-linux"),
    ("mount", "mount"),
    ("hostname", "hostname"),
    ("sleep", "coreutils"),
    ("bash", "bash"),
    ("corosync", "corosync"),
    ("corosync-quorumtool", "corosync"),
    ("sshd", "openssh-server"),
    ("ssh-keygen", "openssh-client"),
    ("ssh", "openssh-client"),
    ("iptables", "iptables"),
    ("sh", "dash"),
];

/// The full path of `program`, searching `PATH` and the sbin directories.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_PATH.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|meta| meta.is_file() && meta.mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Fails with the missing program and its package unless every required program exists.
pub fn check_programs() -> Result<()> {
    for (program, package) in REQUIRED_PROGRAMS {
        if which(program).is_none() {
            return Err(Error::MissingProgram {
                program: program.into(),
                package: package.into(),
            });
        }
    }
    Ok(())
}

/// True when the effective uid is 0 (read from `/proc/self/status`: no libc call needed).
pub fn is_root() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

/// A command line for messages.
fn describe(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resolves `program` to a path, or fails naming its package.
fn resolve(program: &str) -> Result<PathBuf> {
    which(program).ok_or_else(|| Error::MissingProgram {
        program: program.into(),
        package: REQUIRED_PROGRAMS
            .iter()
            .find(|(name, _)| *name == program)
            .map_or("?", |(_, package)| package)
            .into(),
    })
}

/// Runs `program args` to completion with stdin closed; returns its output whatever its
/// exit status.
pub fn output(program: &str, args: &[&str]) -> Result<Output> {
    Command::new(resolve(program)?)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| Error::Command {
            command: describe(program, args),
            message: error.to_string(),
        })
}

/// Runs `program args`; fails with its stderr unless it exits 0. Returns its stdout.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    let result = output(program, args)?;
    if result.status.success() {
        return Ok(String::from_utf8_lossy(&result.stdout).into_owned());
    }
    Err(Error::Command {
        command: describe(program, args),
        message: format!(
            "{}: {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        ),
    })
}

/// Starts `argv` as a daemon: in its own session, stdin from /dev/null, stdout and stderr
/// appended to `log`, and orphaned at once so that init reaps it. Returns its pid (the
/// program execs through `setsid`, `ip netns exec`, `unshare` and `nsenter`, which keep it).
pub fn spawn_daemon(argv: &[String], log: &Path) -> Result<u32> {
    let script = r#"log=$1; shift; setsid -- "$@" </dev/null >>"$log" 2>&1 & echo $!"#;
    let mut args: Vec<&str> = vec!["-c", script, "sh"];
    let log_text = log.to_string_lossy();
    args.push(&log_text);
    args.extend(argv.iter().map(String::as_str));
    let stdout = run("sh", &args)?;
    stdout.trim().parse().map_err(|_| Error::Command {
        command: argv.join(" "),
        message: format!("could not read the daemon's pid from `{}`", stdout.trim()),
    })
}

/// The state letter of process `pid` (`R`, `S`, `Z`, ...), or `None` if there is none.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain blanks: the state follows the last `)`.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// True when `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    matches!(process_state(pid), Some(state) if state != 'Z')
}

/// The command name of `pid` (`/proc/<pid>/comm`).
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

/// Sends `signal` (`TERM`, `KILL`) to `pids`; processes already gone are ignored.
pub fn kill(pids: &[u32], signal: &str) {
    if pids.is_empty() {
        return;
    }
    let pid_texts: Vec<String> = pids.iter().map(u32::to_string).collect();
    let mut args = vec![
        "-c",
        r#"signal=$1; shift; kill -s "$signal" "$@" 2>/dev/null"#,
        "sh",
        signal,
    ];
    args.extend(pid_texts.iter().map(String::as_str));
    // The shell's builtin kill: no procps needed. It signals every pid it can; a failure
    // only means some process was already gone.
    let _ = output("sh", &args);
}

/// The inode of a namespace file (`/run/netns/NAME`, `/proc/PID/ns/net`).
pub fn namespace_inode(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|meta| meta.ino())
}

/// The path of a named network namespace.
pub fn netns_path(name: &str) -> PathBuf {
    Path::new("/run/netns").join(name)
}

/// Names of the network namespaces under /run/netns starting with `prefix`.
pub fn netns_with_prefix(prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// Every live process whose network namespace has one of `inodes`.
pub fn processes_in(inodes: &BTreeSet<u64>) -> Vec<u32> {
    if inodes.is_empty() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u32>().ok())
        })
        .filter(|pid| {
            namespace_inode(Path::new(&format!("/proc/{pid}/ns/net")))
                .is_some_and(|inode| inodes.contains(&inode))
        })
        .filter(|pid| alive(*pid))
        .collect();
    pids.sort_unstable();
    pids
}

/// Runs `program args` in network namespace `netns` (`ip netns exec`).
pub fn in_netns(netns: &str, program: &str, args: &[&str]) -> Result<String> {
    let mut all = vec!["netns", "exec", netns, program];
    all.extend_from_slice(args);
    run("ip", &all)
}

/// The argv that runs `command` inside a node: its network, mount and UTS namespaces,
/// entered through the holder process.
pub fn node_argv(holder_pid: u32, command: &[&str]) -> Vec<String> {
    let mut argv = vec![
        "nsenter".to_string(),
        "-t".into(),
        holder_pid.to_string(),
        "-n".into(),
        "-m".into(),
        "-u".into(),
        "--".into(),
    ];
    argv.extend(command.iter().map(|s| s.to_string()));
    argv
}

/// Lists bridges in namespace `netns`; used by tests and `lab down` checks.
pub fn links_in(netns: &str) -> Result<Vec<String>> {
    let text = run("ip", &["-n", netns, "-o", "link", "show"])?;
    Ok(text
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_and_names_the_package_of_a_missing_one() {
        assert!(which("sh").is_some());
        assert_eq!(which("quorate-no-such-program"), None);
        let error = resolve("quorate-no-such-program").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`quorate-no-such-program` not found in PATH: install the Debian package `?`"
        );
        let error = Error::MissingProgram {
            program: "corosync".into(),
            package: "corosync".into(),
        };
        assert_eq!(
            error.to_string(),
            "`corosync` not found in PATH: install the Debian package `corosync`"
        );
    }

    #[test]
    fn tells_live_processes_from_gone_ones() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
        assert_eq!(comm(u32::MAX), None);
    }

    #[test]
    fn a_failing_program_reports_its_status_and_stderr() {
        let error = run("sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`sh -c echo oops >&2; exit 3` failed: exit status: 3: oops"
        );
        assert_eq!(run("sh", &["-c", "echo fine"]).unwrap(), "fine\n");
    }
}
