//! Helpers shared by the integration test modules: running quorate in-process, the reality
//! gate, network namespaces, labs and the corosync-vqsim driver.
//!
//! Nothing here asserts product behaviour; it only prepares the ground real software runs on.

pub mod lab;
pub mod netns;
pub mod vqsim;

/// Runs quorate in-process through the library entry point (`quorate::run`), as the
/// binary would; returns (exit code, stdout, stderr).
pub fn quorate(args: &[&str]) -> (u8, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["quorate"];
    argv.extend_from_slice(args);
    let code = quorate::run(argv, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// Whether a test that drives real system software (namespaces, corosync) may run.
///
/// Such tests need root. As root this returns true. Otherwise it panics with a clear message,
/// unless `QUORATE_SKIP_REALITY=1` is set (local development only; CI runs as root and never
/// sets it), in which case it prints that `what` was skipped and returns false.
pub fn reality_available(what: &str) -> bool {
    // The effective uid comes from /proc, which needs neither libc nor unsafe code.
    let is_root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false);
    if is_root {
        return true;
    }
    if std::env::var("QUORATE_SKIP_REALITY").as_deref() == Ok("1") {
        // Written past the test harness's output capture, so a skip is never silent.
        let message = format!("{what}: SKIPPED (not root and QUORATE_SKIP_REALITY=1); CI runs it as root\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
        return false;
    }
    panic!(
        "{what} needs root (network namespaces, real corosync); run as root, \
         or set QUORATE_SKIP_REALITY=1 to skip it during local development"
    );
}

/// A directory under the system temp dir for one test, emptied when made and removed when
/// dropped (also when the test fails).
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// `quorate-<name>-<pid>` under the temp dir.
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("quorate-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// The path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
