//! `quorate lab` against real corosync, sshd and namespaces (root; CI runs it).
//!
//! Owns the lab scenarios: a 3-node lab forms, reports quorum over SSH with the lab
//! inventory, splits {1,2}|{3} for real, heals, runs commands inside nodes, and leaves
//! nothing behind; a spare node (`--spare`) is reachable on every link with no corosync
//! config, key or process, and a `--no-start` lab leaves every node so; a given config is
//! rewritten to lab addresses; both real `Remote`s (SSH with
//! the inventory, nsenter) stream bytes, replace files atomically with the mode given and
//! name the node in their errors. Each lab lives in its own
//! directory and is removed by a Drop guard, also when an assertion fails. It must not touch
//! any network but the lab's own namespaces.

use crate::support::lab::{lab, LabGuard};
use crate::support::quorate;
use executor::inventory::Inventory;
use executor::ssh::SshNode;
use executor::status::Corosync;
use executor::Remote;
use serde_json::Value;
use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the lab recorded: namespace prefix, namespace inodes and pids.
struct Recorded {
    prefix: String,
    inodes: BTreeSet<u64>,
    pids: Vec<u32>,
}

fn recorded(dir: &Path) -> Recorded {
    let text = std::fs::read_to_string(dir.join("lab.json")).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap();
    let inodes = state["namespaces"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_u64)
        .collect();
    let mut pids = Vec::new();
    for node in state["nodes"].as_array().unwrap() {
        for key in ["holder_pid", "corosync_pid", "sshd_pid"] {
            pids.extend(node[key].as_u64().map(|pid| pid as u32));
        }
    }
    Recorded {
        prefix: format!("qlab-{}-", state["name"].as_str().unwrap()),
        inodes,
        pids,
    }
}

/// Live (non-zombie) processes whose network namespace is one of `inodes`, or among `pids`.
fn live_processes(inodes: &BTreeSet<u64>, pids: &[u32]) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if stat.is_empty() || zombie {
            continue;
        }
        let in_lab_netns =
            std::fs::metadata(format!("/proc/{pid}/ns/net")).is_ok_and(|m| inodes.contains(&m.ino()));
        if in_lab_netns || pids.contains(&pid) {
            found.push(pid);
        }
    }
    found
}

/// Asserts that nothing of the lab is left: namespaces, processes, mounts, bridges, files.
fn assert_nothing_left(dir: &Path, recorded: &Recorded) {
    let namespaces: Vec<String> = std::fs::read_dir("/run/netns")
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let left: Vec<&String> = namespaces
        .iter()
        .filter(|name| name.starts_with(&recorded.prefix))
        .collect();
    assert!(left.is_empty(), "namespaces left: {left:?}");
    assert_eq!(
        live_processes(&recorded.inodes, &recorded.pids),
        Vec::<u32>::new(),
        "processes left"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dir_text = dir.to_string_lossy();
    let mount_left: Vec<&str> = mounts
        .lines()
        .filter(|line| line.contains(&recorded.prefix) || line.contains(dir_text.as_ref()))
        .collect();
    assert!(mount_left.is_empty(), "mounts left: {mount_left:?}");
    let links = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    assert!(
        !links.contains("qlb-"),
        "bridges left in the host namespace: {links}"
    );
    assert!(!dir.exists(), "lab directory {} left", dir.display());
}

/// One node of `lab status --format json`: (name, quorate, members, total votes).
type StatusRow = (String, Option<bool>, Vec<u64>, Option<u64>);

/// The nodes of `lab status --format json --via VIA`, in lab order.
fn status_json(dir: &Path, via: &str) -> Vec<StatusRow> {
    let text = lab(dir, &["status", "--format", "json", "--via", via]);
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["via"], via);
    document["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            assert_eq!(node["corosync"], "running", "{node}");
            (
                node["name"].as_str().unwrap().to_string(),
                node["quorate"].as_bool(),
                node["members"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_u64)
                    .collect(),
                node["total_votes"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn three_nodes_form_split_heal_and_leave_nothing() {
    if !crate::support::reality_available("lab: three nodes") {
        return;
    }
    let guard = LabGuard::new("it-three");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3"]);
    let recorded = recorded(&dir);

    // Read over SSH with the lab inventory, through the library...
    let inventory = Inventory::read(&dir.join("inventory.toml")).unwrap();
    assert_eq!(inventory.nodes.len(), 3);
    let reports = executor::ssh::read_cluster_blocking(
        &inventory,
        &executor::ssh::SshOptions {
            control_dir: dir.join("ctl"),
            ..Default::default()
        },
    )
    .unwrap();
    for report in &reports {
        let Corosync::Running { quorum } = &report.corosync else {
            panic!("{} is not running: {:?}", report.name, report.corosync);
        };
        assert!(quorum.quorate, "{}", report.name);
        assert_eq!(
            (quorum.total_votes, quorum.expected_votes, quorum.quorum),
            (3, 3, 2)
        );
        assert_eq!(quorum.member_ids(), vec![1, 2, 3]);
    }
    // ... and through `lab status`.
    let all = vec![1, 2, 3];
    for (name, quorate, members, votes) in status_json(&dir, "ssh") {
        assert_eq!((quorate, &members, votes), (Some(true), &all, Some(3)), "{name}");
    }

    lab(&dir, &["partition", "1,2|3"]);
    let split = status_json(&dir, "ssh");
    assert_eq!(
        split,
        vec![
            ("n1".to_string(), Some(true), vec![1, 2], Some(2)),
            ("n2".to_string(), Some(true), vec![1, 2], Some(2)),
            ("n3".to_string(), Some(false), vec![3], Some(1)),
        ]
    );

    lab(&dir, &["heal"]);
    for (name, quorate, members, votes) in status_json(&dir, "nsenter") {
        assert_eq!((quorate, &members, votes), (Some(true), &all, Some(3)), "{name}");
    }

    // A node is its own host: hostname, /etc/corosync with a private authkey, its address.
    assert_eq!(lab(&dir, &["exec", "n2", "--", "hostname"]), "n2\n");
    assert_eq!(
        lab(
            &dir,
            &["exec", "2", "--", "stat", "-c", "%a", "/etc/corosync/authkey"]
        ),
        "400\n"
    );
    let addresses = lab(
        &dir,
        &["exec", "n3", "--", "ip", "-o", "-4", "addr", "show", "dev", "l0"],
    );
    assert!(addresses.contains("198.18.0.3/24"), "{addresses}");
    let dir_text = dir.to_string_lossy().into_owned();
    let (code, _, _) = quorate(&["lab", "--dir", &dir_text, "exec", "n1", "--", "false"]);
    assert_eq!(code, 1);

    let out = lab(&dir, &["down"]);
    assert!(out.starts_with("removed lab in"), "{out}");
    assert_nothing_left(&dir, &recorded);
    let again = lab(&dir, &["down"]);
    assert!(again.starts_with("no lab in"), "{again}");
    drop(guard);
}

/// The commands (`comm`) of the live processes in the network namespace with `inode`.
fn commands_in_netns(inode: u64) -> Vec<String> {
    let mut found = Vec::new();
    for pid in live_processes(&BTreeSet::from([inode]), &[]) {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        found.push(comm.trim().to_string());
    }
    found
}

/// The network-namespace inode `lab.json` recorded for node `name`.
fn node_netns_inode(dir: &Path, name: &str) -> u64 {
    let text = std::fs::read_to_string(dir.join("lab.json")).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap();
    state["namespaces"][format!("qlab-{}-{name}", state["name"].as_str().unwrap())]
        .as_u64()
        .unwrap()
}

/// One node of `lab status --format json`: (name, corosync, quorate, members, total votes,
/// error).
type StatusFields = (String, String, Option<bool>, Vec<u64>, Option<u64>, Value);

/// `lab status --format json --via VIA`: the exit code and every node's fields.
fn status_rows(dir: &Path, via: &str) -> (u8, Vec<StatusFields>) {
    let dir_text = dir.to_string_lossy().into_owned();
    let (code, out, err) = quorate(&[
        "lab", "--dir", &dir_text, "status", "--format", "json", "--via", via,
    ]);
    let document: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(document["via"], via);
    let rows = document["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            (
                node["name"].as_str().unwrap().to_string(),
                node["corosync"].as_str().unwrap().to_string(),
                node["quorate"].as_bool(),
                node["members"]
                    .as_array()
                    .map(|members| members.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default(),
                node["total_votes"].as_u64(),
                node["error"].clone(),
            )
        })
        .collect();
    (code, rows)
}

/// Whether `path` exists inside node `node` (through `lab exec`).
fn exists_in_node(dir: &Path, node: &str, path: &str) -> bool {
    let dir_text = dir.to_string_lossy().into_owned();
    let (code, _, _) = quorate(&["lab", "--dir", &dir_text, "exec", node, "--", "test", "-e", path]);
    code == 0
}

/// See: issue 12 (the lab contract `apply` needs: spare nodes, link addresses).
#[test]
fn a_spare_node_is_reachable_on_every_link_without_corosync() {
    if !crate::support::reality_available("lab: spare node") {
        return;
    }
    let guard = LabGuard::new("it-spare");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3", "--links", "2", "--spare", "1"]);
    let recorded = recorded(&dir);

    // The inventory lists the spare after the cluster's nodes, numbered on, marked spare,
    // and every node with its address on each link.
    let text = std::fs::read_to_string(dir.join("inventory.toml")).unwrap();
    let inventory = Inventory::read(&dir.join("inventory.toml")).unwrap();
    let rows: Vec<(&str, u32, &str, Vec<&str>, bool)> = inventory
        .nodes
        .iter()
        .map(|node| {
            (
                node.name.as_str(),
                node.nodeid,
                node.address.as_str(),
                node.link_addresses.iter().map(String::as_str).collect(),
                node.spare,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("n1", 1, "198.18.0.1", vec!["198.18.0.1", "198.18.1.1"], false),
            ("n2", 2, "198.18.0.2", vec!["198.18.0.2", "198.18.1.2"], false),
            ("n3", 3, "198.18.0.3", vec!["198.18.0.3", "198.18.1.3"], false),
            ("n4", 4, "198.18.0.4", vec!["198.18.0.4", "198.18.1.4"], true),
        ],
        "{text}"
    );
    assert_eq!(text.matches("spare = true").count(), 1, "{text}");

    // n4 over SSH with the lab key: its own host, its address on both links, no corosync
    // config, no authkey.
    let lab_handle = executor::lab::Lab::open(&dir).unwrap();
    let ssh = SshNode::connect(&inventory, &inventory.nodes[3], &lab_handle.ssh_options()).unwrap();
    assert_eq!(ssh.run(&["hostname"]).unwrap().stdout_text(), "n4\n");
    let addresses = ssh.run(&["ip", "-j", "addr", "show"]).unwrap();
    assert!(addresses.success(), "{}", addresses.stderr_text());
    let interfaces: Value = serde_json::from_str(&addresses.stdout_text()).unwrap();
    let mut found: Vec<(String, String)> = Vec::new();
    for interface in interfaces.as_array().unwrap() {
        for address in interface["addr_info"].as_array().into_iter().flatten() {
            if address["family"] == "inet" && interface["ifname"] != "lo" {
                found.push((
                    interface["ifname"].as_str().unwrap().to_string(),
                    format!("{}/{}", address["local"].as_str().unwrap(), address["prefixlen"]),
                ));
            }
        }
    }
    found.sort();
    assert_eq!(
        found,
        vec![
            ("l0".to_string(), "198.18.0.4/24".to_string()),
            ("l1".to_string(), "198.18.1.4/24".to_string())
        ]
    );
    for path in ["/etc/corosync/corosync.conf", "/etc/corosync/authkey"] {
        let test = ssh.run(&["test", "-e", path]).unwrap();
        assert_eq!(test.code, Some(1), "n4 has {path}");
    }
    assert_eq!(
        ssh.read_file(Path::new("/etc/corosync/corosync.conf")).unwrap(),
        None
    );
    ssh.close().unwrap();
    assert!(!exists_in_node(&dir, "n4", "/etc/corosync/authkey"));
    assert!(exists_in_node(&dir, "n3", "/etc/corosync/authkey"));

    // No corosync runs in n4's namespace; its holder and sshd do.
    let commands = commands_in_netns(node_netns_inode(&dir, "n4"));
    assert!(!commands.iter().any(|c| c == "corosync"), "{commands:?}");
    assert!(commands.iter().any(|c| c == "sshd"), "{commands:?}");

    // The cluster formed without it; status shows n4 stopped, not as an error.
    for via in ["ssh", "nsenter"] {
        let (code, rows) = status_rows(&dir, via);
        assert_eq!(code, 0, "{via}: {rows:?}");
        for (name, corosync, quorate, members, votes, error) in &rows {
            if name == "n4" {
                assert_eq!(
                    (corosync.as_str(), *quorate, error),
                    ("stopped", None, &Value::Null),
                    "{via}"
                );
            } else {
                assert_eq!(
                    (corosync.as_str(), *quorate, members, *votes),
                    ("running", Some(true), &vec![1, 2, 3], Some(3)),
                    "{via} {name}"
                );
            }
        }
        assert_eq!(rows.len(), 4);
    }
    let human = lab(&dir, &["status"]);
    assert!(
        human
            .lines()
            .any(|line| line.starts_with("n4 ") && line.contains("stopped")),
        "{human}"
    );

    // Starting corosync on it says why not, and changes nothing.
    let dir_text = dir.to_string_lossy().into_owned();
    let (code, _, err) = quorate(&["lab", "--dir", &dir_text, "start", "n4"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("node n4: no /etc/corosync/corosync.conf (a spare node)"),
        "{err}"
    );
    // A partition may name it: it has no corosync to split, the others still do.
    lab(&dir, &["partition", "1,2,4|3"]);
    let (_, rows) = status_rows(&dir, "ssh");
    assert_eq!(rows[0].3, vec![1, 2]);
    assert_eq!(rows[3].1, "stopped");
    lab(&dir, &["heal"]);

    let out = lab(&dir, &["down"]);
    assert!(out.contains("5 namespaces"), "{out}");
    assert_nothing_left(&dir, &recorded);
    drop(guard);
}

/// See: issue 12 (`lab up --no-start` leaves the cluster to be formed).
#[test]
fn a_lab_not_started_has_no_corosync_config_key_or_process() {
    if !crate::support::reality_available("lab: no start") {
        return;
    }
    let guard = LabGuard::new("it-nostart");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "3", "--no-start"]);
    let recorded = recorded(&dir);
    let config = std::fs::read_to_string(dir.join("corosync.conf")).unwrap();
    assert!(config.contains("ring0_addr: 198.18.0.3"), "{config}");
    for node in ["n1", "n2", "n3"] {
        for path in ["/etc/corosync/corosync.conf", "/etc/corosync/authkey"] {
            assert!(!exists_in_node(&dir, node, path), "{node} has {path}");
        }
        let commands = commands_in_netns(node_netns_inode(&dir, node));
        assert!(!commands.iter().any(|c| c == "corosync"), "{node}: {commands:?}");
        assert!(commands.iter().any(|c| c == "sshd"), "{node}: {commands:?}");
    }
    let text = std::fs::read_to_string(dir.join("inventory.toml")).unwrap();
    assert!(!text.contains("spare"), "{text}");
    assert_eq!(text.matches("link_addresses = [\"198.18.0.").count(), 3, "{text}");
    let (code, rows) = status_rows(&dir, "ssh");
    assert_eq!(code, 0);
    let states: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        states,
        vec![("n1", "stopped"), ("n2", "stopped"), ("n3", "stopped")]
    );
    let dir_text = dir.to_string_lossy().into_owned();
    let (code, _, err) = quorate(&["lab", "--dir", &dir_text, "start", "n1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("node n1: no /etc/corosync/corosync.conf (the lab was made with --no-start)"),
        "{err}"
    );
    lab(&dir, &["down"]);
    assert_nothing_left(&dir, &recorded);
    drop(guard);
}

const GIVEN: &str = "# A production-like config: its addresses are not lab addresses.
totem {
  version: 2
  cluster_name: prod
  transport: knet
  crypto_cipher: aes256
  crypto_hash: sha256
  token: 1000
}

nodelist {
  node {
    name: alpha
    nodeid: 11
    ring0_addr: 10.1.0.11
    ring1_addr: 10.2.0.11
  }
  node {
    name: beta
    nodeid: 12
    ring0_addr: 10.1.0.12
    ring1_addr: 10.2.0.12
  }
}

quorum {
  provider: corosync_votequorum
  two_node: 1
}
";

/// Polls `corosync-cfgtool -n` on `node` until knet reports link 0 to its peer as
/// connected (`up`) or not. Bounded: knet notices within its ping timeout (token / 2).
fn wait_for_link(dir: &Path, node: &str, up: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let text = lab(dir, &["exec", node, "--", "corosync-cfgtool", "-n"]);
        let link0: Vec<&str> = text.lines().filter(|line| line.contains("LINK: 0")).collect();
        assert!(!link0.is_empty(), "no link 0 in:\n{text}");
        if link0.iter().all(|line| line.contains(" connected") == up) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "link 0 never became up={up}:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_given_config_runs_on_lab_addresses_and_keeps_its_structure() {
    if !crate::support::reality_available("lab: given config") {
        return;
    }
    let (guard, config) = LabGuard::new("it-given").with_config(GIVEN);
    let dir = guard.dir.clone();
    let out = lab(&dir, &["up", "--config", &config.to_string_lossy()]);
    for line in [
        "alpha ring0_addr: 10.1.0.11 -> 198.18.0.1",
        "alpha ring1_addr: 10.2.0.11 -> 198.18.1.1",
        "beta ring0_addr: 10.1.0.12 -> 198.18.0.2",
        "beta ring1_addr: 10.2.0.12 -> 198.18.1.2",
    ] {
        assert!(out.contains(line), "missing `{line}` in:\n{out}");
    }
    let running = lab(
        &dir,
        &["exec", "beta", "--", "cat", "/etc/corosync/corosync.conf"],
    );
    let expected = GIVEN
        .replace("10.1.0.11", "198.18.0.1")
        .replace("10.2.0.11", "198.18.1.1")
        .replace("10.1.0.12", "198.18.0.2")
        .replace("10.2.0.12", "198.18.1.2");
    assert_eq!(running, expected);
    let status = status_json(&dir, "ssh");
    let ids = vec![11, 12];
    for (name, quorate, members, votes) in &status {
        assert_eq!((*quorate, members, *votes), (Some(true), &ids, Some(2)), "{name}");
    }
    // Cutting link 0 everywhere leaves link 1: once knet has noticed, both nodes are
    // members and quorate again. Corosync may form a new ring meanwhile, and on a loaded
    // machine a node can be seen alone for a moment (a CI run read alpha as {11}), so the
    // status is read until it settles; without link 1 carrying the cluster it never would.
    lab(&dir, &["link", "down", "0"]);
    wait_for_link(&dir, "alpha", false);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let rows = status_json(&dir, "ssh");
        let settled = rows
            .iter()
            .all(|(_, quorate, members, votes)| (*quorate, members, *votes) == (Some(true), &ids, Some(2)));
        if settled {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "link 1 did not carry both nodes within 30 s of link 0 failing: {rows:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    lab(&dir, &["link", "up", "0", "alpha", "beta"]);
    wait_for_link(&dir, "alpha", true);
    let recorded = recorded(&dir);
    lab(&dir, &["down"]);
    assert_nothing_left(&dir, &recorded);
    drop(guard);
}

#[test]
fn down_removes_a_lab_whose_state_file_is_lost() {
    if !crate::support::reality_available("lab: lost state") {
        return;
    }
    let guard = LabGuard::new("it-lost");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "2", "--no-start"]);
    let recorded = recorded(&dir);
    assert!(!live_processes(&recorded.inodes, &recorded.pids).is_empty());
    // As if the tool had crashed before writing its state: namespaces are found by name.
    std::fs::remove_file(dir.join("lab.json")).unwrap();
    let out = lab(&dir, &["down"]);
    assert!(out.contains("3 namespaces"), "{out}");
    assert_nothing_left(&dir, &recorded);
    drop(guard);
}

#[test]
fn driving_a_missing_lab_says_how_to_make_one() {
    if !crate::support::reality_available("lab: missing lab") {
        return;
    }
    let dir = format!("/run/quorate/it-missing-{}", std::process::id());
    let (code, out, err) = quorate(&["lab", "--dir", &dir, "status"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        format!("error: no lab in {dir}: run `quorate lab up` first\n")
    );
    let (code, _, err) = quorate(&["lab", "--dir", &dir, "up", "--nodes", "0"]);
    assert_eq!(code, 2);
    assert_eq!(err, "error: --nodes must be between 1 and 254, not 0\n");
    assert!(!Path::new(&dir).exists());
}

#[test]
fn lab_up_without_root_names_the_missing_privilege() {
    if !crate::support::reality_available("lab: without root") {
        return;
    }
    // Root can drop to `nobody` for one run of the real binary.
    let dir = format!("/tmp/quorate-it-nobody-{}", std::process::id());
    let output = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args([
            env!("CARGO_BIN_EXE_quorate"),
            "lab",
            "--dir",
            &dir,
            "up",
            "--nodes",
            "3",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr,
        "error: the lab needs root privileges (effective uid 0); run it as root, e.g. with sudo\n"
    );
    assert!(!Path::new(&dir).exists());
}

/// Bytes no file should ever hold: a marker made of this process's id and the clock, with
/// every byte value around it (NULs included), `size` bytes long.
fn secret_bytes(label: &str, size: usize) -> (String, Vec<u8>) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let marker = format!("quorate-secret-{label}-{}-{nanos}", std::process::id());
    let mut bytes: Vec<u8> = marker.as_bytes().to_vec();
    bytes.extend((0..=255u8).cycle().take(size.saturating_sub(2 * marker.len())));
    bytes.extend_from_slice(marker.as_bytes());
    (marker, bytes)
}

/// Files under `dir` (not following links, not /proc-like trees) whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if meta.is_file() && meta.len() < 64 << 20 {
            let bytes = std::fs::read(&path).unwrap_or_default();
            if bytes.windows(needle.len()).any(|window| window == needle) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Everything a `Remote` promises, checked on lab node `remote` whose /etc/corosync is
/// `etc_on_host` on this machine (the lab binds it from its directory).
fn check_remote(remote: &dyn Remote, etc_on_host: &Path, lab_dir: &Path, label: &str) {
    let node = remote.node().to_string();
    // run: the command runs inside the node, arguments arrive as single words.
    let hostname = remote.run(&["hostname"]).unwrap();
    assert_eq!(
        (hostname.code, hostname.stdout_text()),
        (Some(0), format!("{node}\n"))
    );
    let echoed = remote
        .run(&["printf", "%s|", "two words", "it's", "$HOME"])
        .unwrap();
    assert_eq!(echoed.stdout_text(), "two words|it's|$HOME|");
    let failed = remote.run(&["sh", "-c", "echo oops >&2; exit 7"]).unwrap();
    assert_eq!((failed.code, failed.stderr_text()), (Some(7), "oops".to_string()));

    // run_with_stdin: 1 MiB streamed through `cat` and back, byte for byte (stdout is read
    // while stdin is written), and the bytes are nowhere on disk afterwards.
    let (marker, bytes) = secret_bytes(label, 1 << 20);
    let echoed = remote.run_with_stdin(&["cat"], &bytes).unwrap();
    assert!(echoed.success(), "{}", echoed.stderr_text());
    assert!(echoed.stdout == bytes, "{node}: cat returned other bytes");
    let counted = remote.run_with_stdin(&["wc", "-c"], &bytes).unwrap();
    assert_eq!(counted.stdout_text().trim(), (1 << 20).to_string());
    for dir in ["/tmp", "/var/tmp", "/dev/shm"] {
        let left = files_containing(Path::new(dir), marker.as_bytes());
        assert!(left.is_empty(), "{node}: the streamed bytes are in {left:?}");
    }
    let left = files_containing(lab_dir, marker.as_bytes());
    assert!(left.is_empty(), "{node}: the streamed bytes are in {left:?}");
    // The node's own private /run and /dev/shm, seen from inside it.
    let inside = remote
        .run(&[
            "sh",
            "-c",
            "grep -rlF -e \"$1\" /run /dev/shm /tmp 2>/dev/null; true",
            "sh",
            &marker,
        ])
        .unwrap();
    assert_eq!(
        inside.stdout_text(),
        "",
        "{node}: the streamed bytes are on the node"
    );

    // write_file_atomic: content and mode as asked, read_file agrees, no temporary left.
    let target = Path::new("/etc/corosync/quorate-test.conf");
    let on_host = etc_on_host.join("quorate-test.conf");
    assert_eq!(remote.read_file(target).unwrap(), None);
    let small = b"totem {\n  version: 2\n}\n".to_vec();
    remote.write_file_atomic(target, &small, 0o640).unwrap();
    assert_eq!(std::fs::read(&on_host).unwrap(), small);
    let meta = std::fs::metadata(&on_host).unwrap();
    assert_eq!((meta.permissions().mode() & 0o7777, meta.uid()), (0o640, 0));
    assert_eq!(remote.read_file(target).unwrap(), Some(small.clone()));
    let stat = remote
        .run(&["stat", "-c", "%a", "/etc/corosync/quorate-test.conf"])
        .unwrap();
    assert_eq!(stat.stdout_text(), "640\n");

    // Atomic: a reader looping over the file while it is replaced 20 times by a 1-byte-off
    // 1 MiB file and back only ever sees one whole version.
    let large: Vec<u8> = (0..=250u8).cycle().take((1 << 20) + 1).collect();
    let stop = AtomicBool::new(false);
    let reads = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let seen = std::fs::read(&on_host).unwrap();
                assert!(
                    seen == small || seen == large,
                    "{node}: a reader saw {} bytes, neither version",
                    seen.len()
                );
                reads += 1;
            }
            reads
        });
        for round in 0..20 {
            let (bytes, mode) = if round % 2 == 0 {
                (&large, 0o400)
            } else {
                (&small, 0o644)
            };
            remote.write_file_atomic(target, bytes, mode).unwrap();
        }
        stop.store(true, Ordering::Relaxed);
        reader.join().unwrap()
    });
    assert!(reads > 20, "{node}: only {reads} reads overlapped the writes");
    assert_eq!(std::fs::read(&on_host).unwrap(), small);
    assert_eq!(
        std::fs::metadata(&on_host).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    // A secret written with mode 0400 lands with 0400 and is readable back.
    let (key_marker, key) = secret_bytes(&format!("{label}-key"), 256);
    remote
        .write_file_atomic(Path::new("/etc/corosync/quorate-key"), &key, 0o400)
        .unwrap();
    let key_on_host = etc_on_host.join("quorate-key");
    assert_eq!(std::fs::read(&key_on_host).unwrap(), key);
    assert_eq!(
        std::fs::metadata(&key_on_host).unwrap().permissions().mode() & 0o7777,
        0o400
    );
    for dir in ["/tmp", "/var/tmp", "/dev/shm"] {
        let left = files_containing(Path::new(dir), key_marker.as_bytes());
        assert!(left.is_empty(), "{node}: the key is in {left:?}");
    }
    let mut names: Vec<String> = std::fs::read_dir(etc_on_host)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["quorate-key", "quorate-test.conf"], "{node}");
    std::fs::remove_file(&on_host).unwrap();
    std::fs::remove_file(&key_on_host).unwrap();

    // Errors name the node and the file.
    let error = remote
        .write_file_atomic(Path::new("/etc/corosync/missing/x.conf"), b"x", 0o644)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "node {node}: /etc/corosync/missing/x.conf: cannot replace it (exit code 1): mktemp"
        )),
        "{error}"
    );
    let error = remote
        .read_file(Path::new("/etc/corosync"))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "node {node}: /etc/corosync: cannot read it (exit code 1)"
        )),
        "{error}"
    );
}

#[test]
fn remotes_over_ssh_and_nsenter_stream_bytes_and_replace_files_atomically() {
    if !crate::support::reality_available("lab: remotes") {
        return;
    }
    let guard = LabGuard::new("it-remote");
    let dir = guard.dir.clone();
    lab(&dir, &["up", "--nodes", "2", "--no-start"]);
    let lab = executor::lab::Lab::open(&dir).unwrap();
    let etc = |name: &str| dir.join("nodes").join(name).join("etc-corosync");

    let nsenter = lab.node(1).unwrap();
    check_remote(&nsenter, &etc("n1"), &dir, "nsenter");

    let inventory = lab.inventory();
    let ssh = SshNode::connect(&inventory, &inventory.nodes[1], &lab.ssh_options()).unwrap();
    check_remote(&ssh, &etc("n2"), &dir, "ssh");
    ssh.close().unwrap();

    // Every node at once; one that cannot be reached gives its own error, naming it.
    let mut broken = inventory.clone();
    broken.nodes[1].ssh_port = 2;
    let sessions = executor::ssh::connect_all(&broken, &lab.ssh_options()).unwrap();
    let first = sessions[0].as_ref().unwrap();
    assert_eq!(first.run(&["hostname"]).unwrap().stdout_text(), "n1\n");
    let error = sessions[1]
        .as_ref()
        .err()
        .expect("port 2 has no sshd")
        .to_string();
    assert!(error.starts_with("ssh to node n2: "), "{error}");
    drop(sessions);

    // A node that cannot be reached: the error names it.
    let mut unreachable = inventory.nodes[1].clone();
    unreachable.ssh_port = 2;
    let error = SshNode::connect(&inventory, &unreachable, &lab.ssh_options())
        .err()
        .expect("port 2 has no sshd")
        .to_string();
    assert!(error.starts_with("ssh to node n2: "), "{error}");
    let error = lab.node(9).unwrap_err().to_string();
    assert_eq!(error, "no node `9` in the lab (nodes: n1, n2)");
    drop(guard);
}
