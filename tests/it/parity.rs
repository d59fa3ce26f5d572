//! Parity of `quorate lint` with the real `corosync -t` (3.1.7).
//!
//! For every corpus file (`../shared/corpus/*.conf`), every targeted case
//! (`tests/data/parity/*.conf`) and every validation fixture (`model/test_data/validate/**.conf`)
//! this runs the real `corosync -t` inside a throwaway network namespace that makes the
//! host-dependent checks pass, runs `quorate lint --format json` on the same file, and asserts
//! that quorate reports an error tagged `rejected_by: "corosync -t"` exactly when corosync exits
//! non-zero. Disagreements must be listed in `tests/data/parity/known-differences.tsv`.
//!
//! How the namespace makes a file pass the host checks (spec 4.4 and 4.2 R3/R14, M1):
//! - node 1 (the node with `nodeid: 1`, else the first node; for targeted cases and the
//!   validation fixtures always 198.18.0.1) becomes local: its ring addresses are put on a veth
//!   link inside the namespace (loopback ones on lo) and uname's nodename is set to its `name`
//!   (`unshare --uts`), else to `qrt-parity`;
//! - every ring address that is a host name DNS could hold (`is_dns_host_name`) resolves:
//!   `/etc/netns/NAME/hosts` maps each to a distinct 198.18.x address and
//!   `/etc/netns/NAME/nsswitch.conf` says `hosts: files`, so no lookup leaves the namespace;
//! - the default key `/etc/corosync/authkey` is readable: `/etc/netns/NAME/corosync/` (256 random
//!   bytes, mode 0400; plus `authkey-short`, 100 bytes, for R4 cases) is bind-mounted over
//!   `/etc/corosync` by `ip netns exec`;
//! - log files can be opened (corosync -t opens them): a tmpfs is mounted over the nearest
//!   existing parent directory inside the namespace's private mount namespace, so nothing is
//!   written on the host.
//!
//! quorate is told the same host: `--local-node` is node 1's name or ring0 address when the
//! namespace made node 1 local, else the nodename; `--authkey` is the host copy of the key file
//! corosync reads in the namespace.
//!
//! `QUORATE_PARITY_RECORD=1` only runs corosync and rewrites `tests/data/parity/corosync-results.tsv`
//! (a reference for people writing validation); the real test always runs the real corosync.
//! This module must not send traffic anywhere nor leave anything behind on the host.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::support::netns::{benchmark_address, Netns};

/// The corosync release the corpus results and the spec's [V-t] marks were taken with.
const COROSYNC_VERSION: &str = "3.1.7";

/// The address every targeted case uses for the local node 1.
const TARGETED_LOCAL_ADDRESS: &str = "198.18.0.1";

/// The uname nodename used when node 1 has no usable `name`; it matches no node.
const NEUTRAL_HOSTNAME: &str = "qrt-parity";

/// Host names get addresses from this index of 198.18.0.0/15 upwards (198.18.3.241 on),
/// clear of the literal 198.18.0.x addresses the targeted cases use.
const FIRST_HOSTNAME_INDEX: u32 = 1000;

/// Seconds one `corosync -t` run may take before it is killed.
const COROSYNC_TIMEOUT_SECONDS: u32 = 20;

/// Where a case comes from; decides how node 1 is chosen and how its label reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `../shared/corpus`: real-world files, node 1 taken from the file.
    Corpus,
    /// `tests/data/parity`: one case per error of spec 4.2, node 1 is 198.18.0.1, and the
    /// first line records corosync's answer.
    Targeted,
    /// `model/test_data/validate`: the validation engineer's fixtures, node 1 is 198.18.0.1.
    Validate,
}

/// One config file to hold both tools against.
#[derive(Debug)]
struct Case {
    /// Short stable name used in tables and TSV files, e.g. `corpus/001-....conf`.
    label: String,
    path: PathBuf,
    origin: Origin,
}

/// One `nodelist.node` section, as far as the namespace needs it.
#[derive(Debug, Default, Clone)]
struct NodeEntry {
    name: Option<String>,
    nodeid: Option<String>,
    ring_addresses: Vec<String>,
}

/// What the namespace must provide for one file, read from the file with a scanner that
/// follows corosync's line rules (not quorate's parser, so a parser bug cannot hide itself).
#[derive(Debug, Default)]
struct HostFacts {
    nodes: Vec<NodeEntry>,
    /// Every `logfile` value anywhere in the file (corosync -t opens them).
    logfiles: Vec<String>,
    /// `totem.keyfile` (the last one wins, as in corosync).
    keyfile: Option<String>,
}

impl HostFacts {
    fn scan(text: &str) -> HostFacts {
        let mut facts = HostFacts::default();
        let mut stack: Vec<String> = Vec::new();
        for raw_line in text.lines() {
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(open) = line.find('{') {
                let name = line[..open].trim().to_string();
                if name == "node" && stack.len() == 1 && stack[0] == "nodelist" {
                    facts.nodes.push(NodeEntry::default());
                }
                stack.push(name);
            } else if line.contains('}') {
                stack.pop();
            } else if let Some(colon) = line.find(':') {
                let key = line[..colon].trim();
                let value = line[colon + 1..].trim().to_string();
                let in_node = stack.len() == 2 && stack[0] == "nodelist" && stack[1] == "node";
                if key == "logfile" {
                    facts.logfiles.push(value);
                } else if key == "keyfile" && stack.len() == 1 && stack[0] == "totem" {
                    facts.keyfile = Some(value);
                } else if in_node {
                    if let Some(node) = facts.nodes.last_mut() {
                        if key == "name" {
                            node.name = Some(value);
                        } else if key == "nodeid" {
                            node.nodeid = Some(value);
                        } else if key.starts_with("ring") && key.ends_with("_addr") {
                            node.ring_addresses.push(value);
                        }
                    }
                }
            }
        }
        facts
    }

    /// Node 1 of a corpus file: the node with `nodeid: 1`, else the first node.
    fn node_one(&self) -> Option<&NodeEntry> {
        self.nodes
            .iter()
            .find(|node| node.nodeid.as_deref() == Some("1"))
            .or_else(|| self.nodes.first())
    }

    /// Every ring address that is a host name DNS could hold (not an IP literal).
    fn ring_hostnames(&self) -> BTreeSet<&str> {
        self.nodes
            .iter()
            .flat_map(|node| node.ring_addresses.iter())
            .map(String::as_str)
            .filter(|address| address.parse::<IpAddr>().is_err() && is_dns_host_name(address))
            .collect()
    }
}

/// Whether `text` is a name a DNS resolver could return an address for, so that a real host
/// would have it resolve: labels of 1 to 63 letters, digits, `-` or `_`, separated by single
/// dots, at most 253 characters, an optional trailing dot, not only digits and dots, not in
/// the reserved `.invalid` domain (RFC 1035 2.3.4, RFC 1123 2.1, RFC 6761). Only such names
/// get a hosts entry; any other string would resolve only because this harness listed it
/// verbatim (glibc's files backend matches any string), which no real host does.
/// See: issue 10 item 1.
fn is_dns_host_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    let labels_ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        });
    let numeric = name.chars().all(|ch| ch.is_ascii_digit() || ch == '.');
    let invalid_domain = name.to_ascii_lowercase().ends_with(".invalid");
    labels_ok && !numeric && !invalid_domain
}

/// Whether `text` can appear as a name in /etc/hosts and in `hostname`.
fn is_plain_hostname(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '.' || ch == '_')
}

/// How the namespace is set up for one case, decided before anything is created.
#[derive(Debug)]
struct HostPlan {
    /// Addresses put on the veth link, or on lo for loopback ones (node 1's, made local).
    local_addresses: Vec<IpAddr>,
    /// `/etc/hosts` lines after localhost: (address, name).
    hosts: Vec<(IpAddr, String)>,
    /// uname nodename inside the namespace.
    hostname: String,
    /// What quorate is told the local node is (`--local-node`): node 1's name or ring0
    /// address when the namespace made node 1 local, else the nodename, which is all
    /// corosync has to go on then.
    local_node: String,
    /// The key file corosync reads if crypto is on, as a path inside the namespace.
    keyfile: String,
    /// Where the log files go.
    logs: LogPlan,
}

impl HostPlan {
    fn for_case(case: &Case, text: &str) -> HostPlan {
        let facts = HostFacts::scan(text);
        let mut hosts = Vec::new();
        let mut hostname_addresses = BTreeMap::new();
        for (index, name) in (FIRST_HOSTNAME_INDEX..).zip(facts.ring_hostnames()) {
            let address = IpAddr::V4(benchmark_address(index));
            hostname_addresses.insert(name.to_string(), address);
            hosts.push((address, name.to_string()));
        }
        let mut local_addresses = Vec::new();
        let mut hostname = NEUTRAL_HOSTNAME.to_string();
        let local_node;
        match case.origin {
            Origin::Targeted | Origin::Validate => {
                // The convention of the targeted fixtures: node 1 is 198.18.0.1, whatever the
                // file says, so that a file without that address really has no local node.
                local_addresses.push(TARGETED_LOCAL_ADDRESS.parse().unwrap());
                local_node = TARGETED_LOCAL_ADDRESS.to_string();
            }
            Origin::Corpus => {
                let node_one = facts.node_one().cloned();
                let mut loopback_is_local = false;
                for address in node_one.iter().flat_map(|node| node.ring_addresses.iter()) {
                    if let Ok(literal) = address.parse::<IpAddr>() {
                        let already_on_lo = literal == IpAddr::from([127, 0, 0, 1])
                            || literal == IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]);
                        if already_on_lo {
                            loopback_is_local = true;
                        } else if !literal.is_unspecified() && !literal.is_multicast() {
                            local_addresses.push(literal);
                        }
                    } else if let Some(mapped) = hostname_addresses.get(address) {
                        local_addresses.push(*mapped);
                    }
                }
                local_addresses.sort();
                local_addresses.dedup();
                if let Some(name) = node_one.as_ref().and_then(|node| node.name.as_deref()) {
                    if is_plain_hostname(name) {
                        hostname = name.to_string();
                    }
                }
                // Claim node 1 is local only when the namespace really made it so (by address
                // or by nodename); otherwise corosync only has the nodename to go on, and
                // quorate must be told just that.
                let made_local =
                    loopback_is_local || !local_addresses.is_empty() || hostname != NEUTRAL_HOSTNAME;
                local_node = node_one
                    .filter(|_| made_local)
                    .and_then(|node| node.name.or_else(|| node.ring_addresses.first().cloned()))
                    .unwrap_or_else(|| hostname.clone());
            }
        }
        let logs = plan_log_directories(&case.path, &facts.logfiles);
        let keyfile = facts
            .keyfile
            .clone()
            .unwrap_or_else(|| DEFAULT_KEYFILE.to_string());
        HostPlan {
            local_addresses,
            hosts,
            hostname,
            local_node,
            keyfile,
            logs,
        }
    }
}

/// Where log files go inside the namespace (corosync -t opens them, spec 4.2 does not say so).
#[derive(Debug, Default, PartialEq, Eq)]
struct LogPlan {
    /// Directories covered with a tmpfs, so that nothing is written on the host.
    mounts: Vec<String>,
    /// Directories created inside those tmpfs mounts (or under /mnt for relative paths).
    dirs: Vec<String>,
    /// Log files printed after the run (all of them live on a tmpfs).
    logfiles: Vec<String>,
}

/// Chooses tmpfs mount points so that every log file's directory exists and is writable inside
/// the namespace without touching the host: the directory itself when it exists, else its
/// nearest existing ancestor (the directory is then created in the tmpfs). A mount point that
/// would hide the config, the state directory or the system is not used, and that log file is
/// left alone (corosync may then fail, and the disagreement shows). Relative paths resolve
/// under the tmpfs at /mnt, corosync's working directory.
fn plan_log_directories(config: &Path, logfiles: &[String]) -> LogPlan {
    let protected = [
        config.to_path_buf(),
        PathBuf::from("/var/lib/corosync"),
        PathBuf::from("/etc/corosync"),
        PathBuf::from("/usr/sbin/corosync"),
        PathBuf::from("/usr/lib"),
        PathBuf::from("/proc/self"),
        PathBuf::from("/dev/null"),
        PathBuf::from("/run/netns"),
        PathBuf::from("/mnt"),
    ];
    let mut mounts: BTreeSet<PathBuf> = BTreeSet::new();
    let mut placed = Vec::new();
    for logfile in logfiles {
        let path = Path::new(logfile);
        let Some(parent) = path.parent() else { continue };
        if !path.is_absolute() {
            placed.push((parent.to_path_buf(), logfile.clone()));
            continue;
        }
        let mut candidate = parent;
        while !candidate.is_dir() {
            match candidate.parent() {
                Some(up) => candidate = up,
                None => break,
            }
        }
        let hides_something = protected.iter().any(|path| path.starts_with(candidate));
        if candidate != Path::new("/") && !hides_something {
            mounts.insert(candidate.to_path_buf());
            placed.push((parent.to_path_buf(), logfile.clone()));
        }
    }
    // A mount inside another planned mount would be hidden by it; keep the outer one only.
    let outer: Vec<&PathBuf> = mounts
        .iter()
        .filter(|mount| {
            !mounts
                .iter()
                .any(|other| other != *mount && mount.starts_with(other))
        })
        .collect();
    LogPlan {
        mounts: outer
            .iter()
            .map(|mount| mount.to_string_lossy().into_owned())
            .collect(),
        dirs: placed
            .iter()
            .filter(|(dir, _)| !dir.as_os_str().is_empty())
            .map(|(dir, _)| dir.to_string_lossy().into_owned())
            .collect(),
        logfiles: placed.into_iter().map(|(_, logfile)| logfile).collect(),
    }
}

/// The shell run inside the namespace: set the nodename, prepare log directories, run corosync,
/// then print the log files it wrote (configs with `to_stderr: no` only report errors there).
/// Arguments: hostname, config path, mount points..., `--`, directories..., `--`, log files...
const CASE_SCRIPT: &str = r#"
hostname "$1" || exit 120
config="$2"
shift 2
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do mount -t tmpfs qrt-parity "$1" || exit 121; shift; done
shift
mount -t tmpfs qrt-parity /mnt && cd /mnt || exit 122
while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do mkdir -p "$1" || exit 123; shift; done
shift
timeout -s KILL "$QRT_TIMEOUT" corosync -t -c "$config" 2>&1
rc=$?
printf '%s\n' "$QRT_MARKER"
for logfile in "$@"; do [ -f "$logfile" ] && cat "$logfile"; done
exit "$rc"
"#;

/// Separates corosync's own output from the log files' contents in the script's output.
const LOGFILE_MARKER: &str = "--- quorate-parity: log files ---";

/// What `corosync -t` said about one file.
#[derive(Debug, Clone)]
struct CorosyncRun {
    rc: i32,
    /// Output (stdout and stderr, else the log files) with timestamps, pids and host names
    /// removed and the config path replaced by `<file>`.
    output: String,
}

impl CorosyncRun {
    /// The line that says why: for a failure the first error line, otherwise the first line
    /// that is neither debug chatter nor the final "exiting" notice ("" when there is none).
    fn headline(&self) -> &str {
        let informative = |line: &&str| {
            !line.contains("Corosync Cluster Engine exiting") && !line.trim_start().starts_with("debug ")
        };
        let first_error = self
            .output
            .lines()
            .filter(informative)
            .find(|line| line.contains("error"));
        match first_error {
            Some(line) if self.rc != 0 => line,
            _ => self.output.lines().find(informative).unwrap_or(""),
        }
    }
}

/// Removes the `Mon DD HH:MM:SS[.mmm] ` prefix of corosync log lines, the `[pid] host corosync `
/// part of log file lines, and the config path.
fn normalize_output(raw: &str, config: &Path) -> String {
    let config = config.to_string_lossy();
    let mut normalized = String::new();
    for line in raw.lines() {
        let line = strip_pid_and_host(strip_timestamp(line)).replace(config.as_ref(), "<file>");
        let line = line.trim_end();
        if !line.is_empty() {
            normalized.push_str(line);
            normalized.push('\n');
        }
    }
    normalized
}

fn strip_timestamp(line: &str) -> &str {
    // "Nov 25 08:56:13.562 " or, with `timestamp: on` but no hires, "Nov 25 08:56:13 ".
    let bytes = line.as_bytes();
    let date_and_time = bytes.len() > 16
        && bytes[..3].iter().all(u8::is_ascii_alphabetic)
        && bytes[3] == b' '
        && bytes[6] == b' '
        && bytes[9] == b':'
        && bytes[12] == b':';
    if !date_and_time {
        return line;
    }
    let mut end = 15;
    if bytes.get(15) == Some(&b'.') {
        end = 16;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    if bytes.get(end) == Some(&b' ') {
        &line[end + 1..]
    } else {
        line
    }
}

fn strip_pid_and_host(line: &str) -> &str {
    let pid_tagged = line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .is_some_and(|(pid, _)| !pid.is_empty() && pid.bytes().all(|byte| byte.is_ascii_digit()));
    match line.split_once(" corosync ") {
        Some((_, rest)) if pid_tagged => rest,
        _ => line,
    }
}

/// Runs `corosync -t` on `case` in a fresh namespace prepared by `plan`.
fn run_corosync(case: &Case, plan: &HostPlan, keys: &KeyDir) -> Result<CorosyncRun, String> {
    let netns = Netns::create()?;
    netns.add_veth_pair("qv0", "qv1")?;
    for address in &plan.local_addresses {
        // 127.0.0.1 and ::1 are on lo already; other loopback addresses go there too.
        netns.add_address(if address.is_loopback() { "lo" } else { "qv0" }, *address)?;
    }
    let mut hosts = String::from("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n");
    for (address, name) in &plan.hosts {
        let _ = writeln!(hosts, "{address} {name}");
    }
    netns.write_etc_file("hosts", hosts.as_bytes(), 0o644)?;
    netns.write_etc_file(
        "nsswitch.conf",
        b"passwd: files\ngroup: files\nhosts: files\n",
        0o644,
    )?;
    for (name, _) in KEY_FILES {
        let key = fs::read(keys.dir.join(name)).map_err(|err| format!("cannot read key {name}: {err}"))?;
        netns.write_etc_file(&format!("corosync/{name}"), &key, 0o400)?;
    }
    netns.create_etc_dir("corosync/uidgid.d")?;
    let (rc, output) = run_case_script(&netns, case, plan, &case.path)?;
    if rc == 0 || !output.is_empty() {
        return Ok(CorosyncRun { rc, output });
    }
    // Silent failure: the file logs only to syslog, which does not exist in the namespace. Ask
    // a copy with `to_stderr: yes` appended (sections merge, the last key wins, line numbers
    // stay) why; the verdict stays the original run's, the reason is marked as borrowed.
    let copy_dir = std::env::temp_dir().join(format!("qrt-parity-{}-{}", std::process::id(), netns.name()));
    fs::create_dir_all(&copy_dir).map_err(|err| format!("cannot create {}: {err}", copy_dir.display()))?;
    let copy = copy_dir.join("corosync.conf");
    let mut text =
        fs::read(&case.path).map_err(|err| format!("cannot read {}: {err}", case.path.display()))?;
    text.extend_from_slice(b"\nlogging {\n\tto_stderr: yes\n}\n");
    let explained = fs::write(&copy, text)
        .map_err(|err| format!("cannot write {}: {err}", copy.display()))
        .and_then(|()| run_case_script(&netns, case, plan, &copy));
    let _ = fs::remove_dir_all(&copy_dir);
    let (_, explanation) = explained?;
    let output = explanation
        .lines()
        .map(|line| format!("(to_stderr copy) {line}\n"))
        .collect();
    Ok(CorosyncRun { rc, output })
}

/// Runs [`CASE_SCRIPT`] for `config` in `netns` and returns corosync's exit code and its
/// normalized output (what it printed, else what it wrote to its log files).
fn run_case_script(
    netns: &Netns,
    case: &Case,
    plan: &HostPlan,
    config: &Path,
) -> Result<(i32, String), String> {
    let mut command = netns.command("unshare");
    command
        .args(["--uts", "--", "sh", "-c", CASE_SCRIPT, "sh", &plan.hostname])
        .arg(config)
        .args(&plan.logs.mounts)
        .arg("--")
        .args(&plan.logs.dirs)
        .arg("--")
        .args(&plan.logs.logfiles)
        .env("QRT_TIMEOUT", COROSYNC_TIMEOUT_SECONDS.to_string())
        .env("QRT_MARKER", LOGFILE_MARKER);
    let output = command
        .output()
        .map_err(|err| format!("cannot run corosync in {}: {err}", netns.name()))?;
    let rc = output.status.code().unwrap_or(-1);
    let raw = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if (120..=124).contains(&rc) || rc == 137 || rc < 0 {
        return Err(format!(
            "{}: namespace setup or timeout failed (rc {rc}): {}",
            case.label,
            raw.trim()
        ));
    }
    // Prefer what corosync printed; fall back on its log files when it printed nothing.
    let (printed, logged) = raw.split_once(LOGFILE_MARKER).unwrap_or((raw.as_str(), ""));
    let printed = normalize_output(printed, config);
    let output = if printed.is_empty() {
        normalize_output(logged, config)
    } else {
        printed
    };
    Ok((rc, output))
}

/// 256 random bytes for the authkey (corosync needs at least 128).
fn random_key() -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut key = vec![0u8; 256];
    fs::File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut key))
        .map_err(|err| format!("cannot read /dev/urandom: {err}"))?;
    Ok(key)
}

/// What quorate said: whether it reported an error rejected by `corosync -t`, and which.
#[derive(Debug)]
struct QuorateVerdict {
    rejects: bool,
    /// `CODE message` of the first such error, or of the first diagnostic for context.
    summary: String,
}

/// Runs `quorate lint --format json` on `case` with the same host facts corosync got:
/// `--local-node` and, as `--authkey`, the host file holding the key corosync reads.
/// This is the only place that knows the CLI and its JSON shape.
fn run_quorate(case: &Case, plan: &HostPlan, authkey: &Path) -> Result<QuorateVerdict, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quorate"));
    command.args(["lint", "--format", "json"]);
    command.args(["--local-node", &plan.local_node]);
    command.arg("--authkey").arg(authkey).arg(&case.path);
    let output = command
        .output()
        .map_err(|err| format!("cannot run quorate: {err}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(&stdout).map_err(|err| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        format!(
            "quorate lint gave no JSON ({}, {err}): {}",
            output.status,
            stderr.lines().next().unwrap_or("").trim()
        )
    })?;
    let diagnostics: Vec<&serde_json::Value> = json["files"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|file| file["diagnostics"].as_array().into_iter().flatten())
        .collect();
    let describe = |diagnostic: &serde_json::Value| {
        format!(
            "{} {}",
            diagnostic["code"].as_str().unwrap_or("?"),
            diagnostic["message"]
                .as_str()
                .unwrap_or("")
                .lines()
                .next()
                .unwrap_or("")
        )
    };
    let rejecting = diagnostics.iter().find(|diagnostic| {
        diagnostic["severity"].as_str() == Some("error")
            && diagnostic["rejected_by"].as_str() == Some("corosync -t")
    });
    Ok(match rejecting {
        Some(diagnostic) => QuorateVerdict {
            rejects: true,
            summary: describe(diagnostic),
        },
        None => QuorateVerdict {
            rejects: false,
            summary: diagnostics
                .first()
                .map(|diagnostic| describe(diagnostic))
                .unwrap_or_default(),
        },
    })
}

/// The key files of the namespace's `/etc/corosync`: (name, length). `authkey` is the default
/// key; `authkey-short` (800 bits) is the validation fixtures' convention for spec 4.2 R4.
const KEY_FILES: [(&str, usize); 2] = [("authkey", 256), ("authkey-short", 100)];

/// Where corosync looks for its key when the config names none.
const DEFAULT_KEYFILE: &str = "/etc/corosync/authkey";

/// A host directory holding the random key files ([`KEY_FILES`], mode 0400). Every namespace
/// gets copies of these bytes as its `/etc/corosync`, and quorate is shown the same files, so
/// both tools see one host. Removed on drop.
struct KeyDir {
    dir: PathBuf,
}

impl KeyDir {
    fn create() -> KeyDir {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = std::env::temp_dir().join(format!("qrt-parity-keys-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let key_dir = KeyDir { dir };
        for (name, len) in KEY_FILES {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o400)
                .open(key_dir.dir.join(name))
                .unwrap();
            std::io::Write::write_all(&mut file, &random_key().unwrap()[..len]).unwrap();
        }
        key_dir
    }

    /// The host path holding what corosync finds at `namespace_path` inside the namespace:
    /// files under `/etc/corosync/` come from this directory, any other path is the host's.
    fn host_path(&self, namespace_path: &str) -> PathBuf {
        match namespace_path.strip_prefix("/etc/corosync/") {
            Some(name) => self.dir.join(name),
            None => PathBuf::from(namespace_path),
        }
    }
}

impl Drop for KeyDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus` beside the repository; in a linked git worktree, beside the main
/// worktree (whose `.git` is the common git directory), since worktrees live elsewhere.
fn corpus_dir() -> PathBuf {
    let beside = repo_root().join("../shared/corpus");
    if beside.is_dir() {
        return beside;
    }
    let common = Command::new("git")
        .args(["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .current_dir(repo_root())
        .output();
    match common {
        Ok(output) if output.status.success() => {
            let git_dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            match git_dir.parent() {
                Some(main_root) => main_root.join("../shared/corpus"),
                None => beside,
            }
        }
        _ => beside,
    }
}

fn parity_dir() -> PathBuf {
    repo_root().join("tests/data/parity")
}

/// All cases, in a stable order: corpus, targeted, validation fixtures.
fn collect_cases() -> Vec<Case> {
    let corpus = corpus_dir();
    assert!(
        corpus.is_dir(),
        "parity: corpus directory {} is missing; it must sit at ../shared/corpus relative to the \
         repository root (of the main worktree, for a linked git worktree)",
        corpus.display()
    );
    let mut cases = Vec::new();
    for (origin, prefix, dir) in [
        (Origin::Corpus, "corpus", corpus),
        (Origin::Targeted, "parity", parity_dir()),
        (
            Origin::Validate,
            "validate",
            repo_root().join("model/test_data/validate"),
        ),
    ] {
        let mut paths = Vec::new();
        collect_conf_files(&dir, &mut paths);
        paths.sort();
        for path in paths {
            let relative = path
                .strip_prefix(&dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            cases.push(Case {
                label: format!("{prefix}/{relative}"),
                path,
                origin,
            });
        }
    }
    cases
}

fn collect_conf_files(dir: &Path, paths: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_conf_files(&path, paths);
        } else if path.extension().is_some_and(|ext| ext == "conf") {
            paths.push(path);
        }
    }
}

/// Reads a two-or-more-column TSV (skipping `#` comments and the header `file`) into
/// file -> remaining columns.
fn read_tsv(path: &Path) -> BTreeMap<String, Vec<String>> {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#') && !line.starts_with("file\t"))
        .filter_map(|line| {
            let mut columns = line.split('\t');
            let file = columns.next()?.to_string();
            Some((file, columns.map(str::to_string).collect()))
        })
        .collect()
}

/// The `# corosync -t: rc=N: headline` header a targeted case records its answer in (a new case
/// starts with `# corosync -t: rc=?: ?`, which `QUORATE_PARITY_RECORD=1` fills in).
fn targeted_expectation(text: &str) -> Option<(i32, String)> {
    let header = text.lines().next()?.strip_prefix("# corosync -t: rc=")?;
    let (rc, first_line) = header.split_once(": ").unwrap_or((header, ""));
    // A placeholder rc ("?") reads as -1, which no real run returns.
    Some((rc.trim().parse().unwrap_or(-1), first_line.trim_end().to_string()))
}

fn check_corosync_version() {
    let output = Command::new("corosync").arg("-v").output();
    let version = match output {
        Ok(output) => String::from_utf8_lossy(&output.stdout).into_owned(),
        Err(err) => {
            panic!("parity: cannot run corosync ({err}); install the corosync package {COROSYNC_VERSION}")
        }
    };
    assert!(
        version.contains(&format!("version '{COROSYNC_VERSION}'")),
        "parity: expected corosync {COROSYNC_VERSION}, found: {}",
        version.lines().next().unwrap_or("")
    );
    // corosync -t chdirs into its state directory and exits 16 without it (spec 4.2 M1); the
    // package creates it, this only repairs a half-removed install.
    fs::create_dir_all("/var/lib/corosync").unwrap();
}

/// See: issue "parity test against corosync -t".
#[test]
fn quorate_lint_agrees_with_corosync_t() {
    if !crate::support::reality_available("parity with corosync -t") {
        return;
    }
    check_corosync_version();
    let started = Instant::now();
    let record = std::env::var("QUORATE_PARITY_RECORD").as_deref() == Ok("1");
    let cases = collect_cases();
    let recorded = read_tsv(&parity_dir().join("corosync-results.tsv"));
    let known = read_tsv(&parity_dir().join("known-differences.tsv"));

    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut results_tsv = String::from("file\trc\tfirst_line\n");
    let mut rc_counts: BTreeMap<(&str, i32), usize> = BTreeMap::new();
    let mut agree = 0usize;
    let mut disagreements = Vec::new();
    let mut compared = 0usize;
    let keys = KeyDir::create();

    for case in &cases {
        let text = String::from_utf8_lossy(&fs::read(&case.path).unwrap()).into_owned();
        let plan = HostPlan::for_case(case, &text);
        let corosync = match run_corosync(case, &plan, &keys) {
            Ok(run) => run,
            Err(err) => {
                problems.push(format!("{}: {err}", case.label));
                continue;
            }
        };
        let origin_name = match case.origin {
            Origin::Corpus => "corpus",
            Origin::Targeted => "parity",
            Origin::Validate => "validate",
        };
        *rc_counts.entry((origin_name, corosync.rc)).or_default() += 1;
        let _ = writeln!(
            results_tsv,
            "{}\t{}\t{}",
            case.label,
            corosync.rc,
            corosync.headline()
        );
        if let Some(columns) = recorded.get(&case.label) {
            if columns.first().map(String::as_str) != Some(corosync.rc.to_string().as_str()) {
                notes.push(format!(
                    "{}: corosync-results.tsv says rc {:?}, live rc {} (rerun with QUORATE_PARITY_RECORD=1)",
                    case.label,
                    columns.first(),
                    corosync.rc
                ));
            }
        }
        if case.origin == Origin::Targeted {
            let header = format!("# corosync -t: rc={}: {}", corosync.rc, corosync.headline());
            match targeted_expectation(&text) {
                Some((rc, first_line)) if rc == corosync.rc && first_line == corosync.headline() => {}
                Some(_) if record => {
                    // The header line is replaced, not inserted, so line numbers stay valid.
                    let rest = text.split_once('\n').map_or("", |(_, rest)| rest);
                    fs::write(&case.path, format!("{header}\n{rest}")).unwrap();
                }
                Some((rc, first_line)) => problems.push(format!(
                    "{}: header says rc={rc}: {first_line}\n    but corosync -t gave rc={}: {}",
                    case.label,
                    corosync.rc,
                    corosync.headline()
                )),
                None => problems.push(format!("{}: first line must be `{header}`", case.label)),
            }
        }
        if record {
            continue;
        }
        compared += 1;
        match run_quorate(case, &plan, &keys.host_path(&plan.keyfile)) {
            Ok(verdict) if verdict.rejects == (corosync.rc != 0) => agree += 1,
            Ok(verdict) => disagreements.push((case, corosync.clone(), verdict.summary, verdict.rejects)),
            Err(err) => disagreements.push((case, corosync.clone(), err, false)),
        }
    }

    let summary: Vec<String> = rc_counts
        .iter()
        .map(|((origin, rc), count)| format!("{origin} rc={rc}: {count}"))
        .collect();
    let mut report = format!("parity: corosync -t results: {}\n", summary.join(", "));
    for note in &notes {
        let _ = writeln!(report, "parity note: {note}");
    }
    if record {
        fs::write(parity_dir().join("corosync-results.tsv"), results_tsv).unwrap();
        let _ = writeln!(
            report,
            "parity: recorded {} corosync results in tests/data/parity/corosync-results.tsv ({:.1} s); \
             quorate not compared (QUORATE_PARITY_RECORD=1)",
            cases.len(),
            started.elapsed().as_secs_f64()
        );
    } else {
        if !disagreements.is_empty() {
            let _ = writeln!(
                report,
                "parity: disagreements ([known] = listed in known-differences.tsv):"
            );
        }
        for (case, corosync, quorate_summary, rejects) in &disagreements {
            let reason = known.get(&case.label).and_then(|columns| columns.first());
            let quorate_side = if *rejects {
                "rejects"
            } else {
                "no corosync -t error"
            };
            let _ = writeln!(
                report,
                "  {}{}\n      corosync -t rc={}: {}\n      quorate: {quorate_side}: {quorate_summary}",
                case.label,
                reason
                    .map(|reason| format!(" [known] {reason}"))
                    .unwrap_or_default(),
                corosync.rc,
                corosync.headline(),
            );
            if reason.is_none() {
                problems.push(format!(
                    "{}: corosync -t rc={} but quorate: {quorate_side}",
                    case.label, corosync.rc
                ));
            }
        }
        for listed in known.keys() {
            if !disagreements.iter().any(|(case, ..)| &case.label == listed) {
                let _ = writeln!(
                    report,
                    "parity note: {listed} is in known-differences.tsv but now agrees; remove it"
                );
            }
        }
        let _ = writeln!(
            report,
            "parity: {agree}/{compared} agree ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    // Written past the test harness's output capture, so the figure shows on success too.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), report.as_bytes());
    assert!(
        problems.is_empty(),
        "parity: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Only names a real resolver could answer get a hosts entry, so that corosync refuses the
/// rest as it would on any real host. See: issue 10 item 1.
#[test]
fn issue10_hosts_entries_only_for_dns_host_names() {
    for name in ["node2", "node2.example.com.", "node_2", "-node2", &"a".repeat(63)] {
        assert!(is_dns_host_name(name), "{name}");
    }
    let long_label = "a".repeat(64);
    for name in [
        "",
        ".",
        "a..b",
        ".node2",
        "node2:5405",
        "[fd00::13]",
        "198.18.0.2/24",
        "node*2",
        "198.18.0.256",
        "node2.invalid",
        "nöde2",
        &long_label,
    ] {
        assert!(!is_dns_host_name(name), "{name}");
    }
}

#[test]
fn scanner_finds_node_one_hostnames_and_logfiles() {
    let text = "\
nodelist {
  node {
    ring0_addr: alpha.example
    name: alpha
    nodeid: 2
  }
  node {
    nodeid: 1
    name: beta
    ring0_addr: 10.0.0.1
    ring1_addr: beta-ring1
  }
}
logging {
  logfile: /var/log/cluster/corosync.log
  # logfile: /ignored
}
";
    let facts = HostFacts::scan(text);
    let node_one = facts.node_one().unwrap();
    assert_eq!(node_one.name.as_deref(), Some("beta"));
    assert_eq!(node_one.ring_addresses, ["10.0.0.1", "beta-ring1"]);
    assert_eq!(
        facts.ring_hostnames().into_iter().collect::<Vec<_>>(),
        ["alpha.example", "beta-ring1"]
    );
    assert_eq!(facts.logfiles, ["/var/log/cluster/corosync.log"]);
    let case = Case {
        label: "x".into(),
        path: PathBuf::from("/work/x.conf"),
        origin: Origin::Corpus,
    };
    let plan = HostPlan::for_case(&case, text);
    assert_eq!(plan.hostname, "beta");
    assert_eq!(plan.local_node, "beta");
    assert_eq!(plan.keyfile, DEFAULT_KEYFILE);
    let no_nodes = HostPlan::for_case(&case, "totem {\n\tkeyfile: /etc/corosync/k\n}\n");
    assert_eq!(
        (no_nodes.local_node.as_str(), no_nodes.keyfile.as_str()),
        (NEUTRAL_HOSTNAME, "/etc/corosync/k")
    );
    let beta_ring1 = plan
        .hosts
        .iter()
        .find(|(_, name)| name == "beta-ring1")
        .unwrap()
        .0;
    assert_eq!(
        plan.local_addresses,
        vec!["10.0.0.1".parse::<IpAddr>().unwrap(), beta_ring1]
    );
}

#[test]
fn log_directories_never_cover_the_state_dir_or_root() {
    let config = Path::new("/work/main/x.conf");
    let logs = plan_log_directories(
        config,
        &[
            "/var/qrt-no-such-dir/x.log".into(),
            "/qrt-no-such-dir/y.log".into(),
            "rel/z.log".into(),
            "/var/lib/corosync/qrt-no-such-dir/w.log".into(),
        ],
    );
    assert_eq!(
        logs,
        LogPlan {
            mounts: vec![],
            dirs: vec!["rel".into()],
            logfiles: vec!["rel/z.log".into()]
        }
    );
    let logs = plan_log_directories(
        config,
        &["/var/log/qrt-no-such-dir/x.log".into(), "/var/log/y.log".into()],
    );
    assert_eq!(logs.mounts, ["/var/log"]);
    assert_eq!(logs.dirs, ["/var/log/qrt-no-such-dir", "/var/log"]);
}

#[test]
fn corosync_output_is_normalized() {
    let raw = "Nov 25 08:56:13.562 error   [MAIN  ] Could not open /etc/corosync/authkey\n\
               parser error: /tmp/a.conf:3: Line too long\n";
    assert_eq!(
        normalize_output(raw, Path::new("/tmp/a.conf")),
        "error   [MAIN  ] Could not open /etc/corosync/authkey\nparser error: <file>:3: Line too long\n"
    );
    let logged = "Nov 25 09:00:05 [12585] vm corosync error   [MAIN  ] parse error in config: x\n";
    assert_eq!(
        normalize_output(logged, Path::new("/a")),
        "error   [MAIN  ] parse error in config: x\n"
    );
    let run = CorosyncRun {
        rc: 8,
        output: "debug   [TOTEM ] parsed\nwarning [MAIN  ] member section is deprecated.\n\
                 error   [MAIN  ] bad\nerror   [MAIN  ] Corosync Cluster Engine exiting with status 8\n"
            .into(),
    };
    assert_eq!(run.headline(), "error   [MAIN  ] bad");
    assert_eq!(
        targeted_expectation("# corosync -t: rc=8: parse error: x\n"),
        Some((8, "parse error: x".into()))
    );
}
