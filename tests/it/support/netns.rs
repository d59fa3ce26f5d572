//! Throwaway network namespaces for tests that run real corosync binaries.
//!
//! A [`Netns`] is an RAII guard: creating one adds a namespace named `qrt<pid>n<counter>`
//! (unique per process and per call, so parallel test runs do not collide), brings its
//! loopback up, and owns `/etc/netns/<name>/`, the directory `ip netns exec` bind-mounts over
//! `/etc` entry by entry. Dropping the guard deletes the namespace (the veth pairs created
//! inside die with it) and that directory, also when the test panics.
//!
//! This module must not touch anything outside the namespaces it creates: links are only ever
//! created inside the namespace, both ends of a veth pair stay there, and no route leads out,
//! so addresses put on them send nothing anywhere. Addresses the helper picks itself come
//! from 198.18.0.0/15 ([`benchmark_address`]).

use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Numbers namespaces created by this process, so that names stay unique within a run.
static NEXT_NAMESPACE: AtomicU32 = AtomicU32::new(0);

/// The `index`-th address of the benchmarking range 198.18.0.0/15, skipping `.0` and `.255`
/// so every address is a plain host address: index 0 is 198.18.0.1, index 1 is 198.18.0.2.
pub fn benchmark_address(index: u32) -> Ipv4Addr {
    let per_block = 254;
    let block = index / per_block;
    let host = index % per_block + 1;
    // 198.18.0.0/15 has 512 /24 blocks; wrap rather than leave the range.
    let block = block % 512;
    Ipv4Addr::new(198, 18 + (block / 256) as u8, (block % 256) as u8, host as u8)
}

/// A network namespace that exists for as long as this value lives.
#[derive(Debug)]
pub struct Netns {
    /// The namespace name as `ip netns` knows it; starts with `qrt`.
    name: String,
    /// `/etc/netns/<name>`, bind-mounted over `/etc` by `ip netns exec`.
    etc_dir: PathBuf,
}

impl Netns {
    /// Creates a fresh namespace with loopback up and an empty `/etc/netns/<name>/`.
    ///
    /// Fails with a message naming the command when `ip` is missing or refuses (not root).
    pub fn create() -> Result<Netns, String> {
        let counter = NEXT_NAMESPACE.fetch_add(1, Ordering::Relaxed);
        let name = format!("qrt{}n{}", std::process::id(), counter);
        let etc_dir = Path::new("/etc/netns").join(&name);
        run_ip(&["netns", "add", &name])?;
        // From here on the guard exists, so an error below still cleans up.
        let netns = Netns { name, etc_dir };
        fs::create_dir_all(&netns.etc_dir)
            .map_err(|err| format!("cannot create {}: {err}", netns.etc_dir.display()))?;
        netns.ip(&["link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// The namespace name (`qrt<pid>n<counter>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n <name> ARGS...` and fails with its stderr if it exits non-zero.
    pub fn ip(&self, args: &[&str]) -> Result<(), String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_ip(&full)
    }

    /// Adds a veth pair `first`/`second` with both ends inside the namespace, both up.
    ///
    /// Both ends live in the namespace, so nothing can leave it through them. A veth pair is
    /// used rather than a dummy link because the `dummy` module is not always loadable.
    pub fn add_veth_pair(&self, first: &str, second: &str) -> Result<(), String> {
        self.ip(&["link", "add", first, "type", "veth", "peer", "name", second])?;
        self.ip(&["link", "set", first, "up"])?;
        self.ip(&["link", "set", second, "up"])
    }

    /// Puts `address` (an IPv4 or IPv6 literal) on `device` as a host route (/32 or /128),
    /// IPv6 without duplicate address detection so it is usable at once.
    pub fn add_address(&self, device: &str, address: std::net::IpAddr) -> Result<(), String> {
        match address {
            std::net::IpAddr::V4(v4) => self.ip(&["addr", "add", &format!("{v4}/32"), "dev", device]),
            std::net::IpAddr::V6(v6) => {
                self.ip(&["addr", "add", &format!("{v6}/128"), "dev", device, "nodad"])
            }
        }
    }

    /// Writes `/etc/netns/<name>/<relative>`, which commands run through [`Netns::command`]
    /// see as `/etc/<relative>`; the first path component must already exist under `/etc`
    /// (`ip netns exec` only bind-mounts over existing entries). Parent directories are
    /// created; `mode` applies to the file.
    pub fn write_etc_file(&self, relative: &str, contents: &[u8], mode: u32) -> Result<(), String> {
        let path = self.etc_dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
        }
        // Remove first: a previous 0400 file cannot be opened for writing by a non-root owner.
        let _ = fs::remove_file(&path);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .map_err(|err| format!("cannot create {}: {err}", path.display()))?;
        file.write_all(contents)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        // The umask may have narrowed the mode given to open; set it exactly.
        fs::set_permissions(&path, fs::Permissions::from_mode(mode))
            .map_err(|err| format!("cannot chmod {}: {err}", path.display()))
    }

    /// Creates the directory `/etc/netns/<name>/<relative>` (seen as `/etc/<relative>`).
    pub fn create_etc_dir(&self, relative: &str) -> Result<(), String> {
        let path = self.etc_dir.join(relative);
        fs::create_dir_all(&path).map_err(|err| format!("cannot create {}: {err}", path.display()))
    }

    /// A command that runs `program args...` inside the namespace (`ip netns exec`), with
    /// its own mount namespace and the `/etc/netns/<name>/` entries bound over `/etc`.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting the namespace destroys the veth pairs inside it. Errors are ignored: Drop
        // cannot report them, and a half-created namespace may already be gone.
        let _ = Command::new("ip").args(["netns", "delete", &self.name]).output();
        let _ = fs::remove_dir_all(&self.etc_dir);
    }
}

/// Runs `ip ARGS...`, turning a non-zero exit into an error carrying its stderr.
fn run_ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|err| format!("cannot run ip: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[test]
fn netns_guard_removes_namespace_and_etc_dir_on_drop() {
    if !super::reality_available("netns guard") {
        return;
    }
    let netns = Netns::create().unwrap();
    let name = netns.name().to_string();
    netns.add_veth_pair("qv0", "qv1").unwrap();
    netns.add_address("qv0", benchmark_address(0).into()).unwrap();
    netns
        .write_etc_file("hosts", b"198.18.0.1 probe\n", 0o644)
        .unwrap();
    let output = netns.command("getent").args(["hosts", "probe"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).split_whitespace().next(),
        Some("198.18.0.1")
    );
    let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|line| line.split(' ').next() == Some(&name)));
    drop(netns);
    let listed = Command::new("ip").args(["netns", "list"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|line| line.split(' ').next() == Some(&name)));
    assert!(!Path::new("/etc/netns").join(&name).exists());
}

#[test]
fn benchmark_addresses_stay_in_198_18_slash_15() {
    assert_eq!(benchmark_address(0), Ipv4Addr::new(198, 18, 0, 1));
    assert_eq!(benchmark_address(253), Ipv4Addr::new(198, 18, 0, 254));
    assert_eq!(benchmark_address(254), Ipv4Addr::new(198, 18, 1, 1));
    for index in [0, 1000, 254 * 256, 254 * 512 - 1, 254 * 512, u32::MAX] {
        let octets = benchmark_address(index).octets();
        assert_eq!(octets[0], 198);
        assert!(octets[1] == 18 || octets[1] == 19, "{index} -> {octets:?}");
        assert!(octets[3] != 0 && octets[3] != 255);
    }
}
