//! Running things on a node, however the node is reached.
//!
//! Owns the `Remote` trait (run a command, stream bytes into one, read a file, replace a file
//! atomically), `CommandOutput`, the two shell scripts that implement `read_file` and
//! `write_file_atomic` on any POSIX node, and `FakeNode`, an in-memory node for unit tests.
//! The implementations that reach real nodes live next to their plumbing: `ssh::SshNode`
//! (openssh ControlMaster sessions on the crate's one tokio runtime) and
//! `lab::node::NsenterNode` (the lab's `nsenter` into a node's namespaces).
//!
//! The trait is called `Remote`, not `Transport`, so that it never clashes with
//! `model::quorum::Transport` (corosync's knet/udp/udpu). It is synchronous: callers that
//! want several nodes at once use threads (every implementation is `Send + Sync`). It must
//! not stage bytes anywhere local: what `run_with_stdin` and `write_file_atomic` are given
//! goes from memory into the remote command's stdin and nowhere else (no /tmp, no local
//! file), so that an authkey never touches a local disk.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The exit code `READ_SCRIPT` uses for "no such file" (sysexits' EX_NOINPUT); `cat` never
/// exits with it.
const MISSING_FILE_EXIT: i32 = 66;

/// Prints file `$1`, or exits `MISSING_FILE_EXIT` when there is none.
const READ_SCRIPT: &str = r#"if [ -e "$1" ] || [ -L "$1" ]; then exec cat -- "$1"; fi; exit 66"#;

/// Replaces file `$1` with stdin, atomically: a temporary file in the same directory
/// (created 0600 by mktemp, so a secret is never readable by others while it is written),
/// filled from stdin, checked to hold exactly `$3` bytes (a connection cut mid-stream ends
/// stdin early: then nothing is replaced), given mode `$2`, fsynced, renamed over the target,
/// and the directory fsynced so the rename survives a crash. Any failure removes the
/// temporary file and leaves the target as it was; a kill at any instant leaves the old or
/// the new file, never a mix (at worst a `.NAME.quorate-XXXXXX` temporary file remains).
/// `mv -T` refuses to move the file into a directory that stands where the target should be.
const WRITE_SCRIPT: &str = r#"set -eu
target=$1
mode=$2
size=$3
dir=$(dirname -- "$target")
base=$(basename -- "$target")
tmp=$(mktemp "$dir/.$base.quorate-XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
got=$(wc -c < "$tmp")
if [ "$got" -ne "$size" ]; then
  echo "received $got of $size bytes; $target left unchanged" >&2
  exit 1
fi
chmod "$mode" "$tmp"
sync -- "$tmp"
mv -f -T -- "$tmp" "$target"
trap - EXIT
sync -- "$dir"
"#;

/// What a command run on a node did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// The exit code; `None` when it was killed by a signal.
    pub code: Option<i32>,
    /// Standard output, as bytes (a file read through `cat` is not necessarily text).
    pub stdout: Vec<u8>,
    /// Standard error, as bytes.
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    /// Whether the command exited 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Standard output, lossily decoded.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error, lossily decoded and trimmed, for messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_string()
    }

    /// The exit status for messages: `exit code 3` or `killed by a signal`.
    pub fn status_text(&self) -> String {
        self.code.map_or_else(
            || "killed by a signal".to_string(),
            |code| format!("exit code {code}"),
        )
    }
}

/// A node commands can be run on. `command` is an argv: the program, then its arguments,
/// each passed as one word (implementations quote them where a shell is in between).
///
/// A command that runs and exits non-zero is not an error of `run`; failing to run it at all
/// (node unreachable, connection lost, program not startable) is, and the error names the
/// node. `read_file` and `write_file_atomic` have shell implementations that work on any
/// node with a POSIX shell and coreutils; the in-memory fake replaces them.
pub trait Remote: Send + Sync {
    /// The node's name, as errors and logs name it.
    fn node(&self) -> &str;

    /// Runs `command` with stdin closed.
    fn run(&self, command: &[&str]) -> Result<CommandOutput>;

    /// Runs `command` with `stdin` streamed into its standard input from memory, then closed.
    fn run_with_stdin(&self, command: &[&str], stdin: &[u8]) -> Result<CommandOutput>;

    /// The bytes of file `path` on the node; `None` when there is no such file.
    fn read_file(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let path_text = remote_path(self.node(), path)?;
        let output = self.run(&["sh", "-c", READ_SCRIPT, "sh", path_text])?;
        match output.code {
            Some(0) => Ok(Some(output.stdout)),
            Some(MISSING_FILE_EXIT) => Ok(None),
            _ => Err(Error::RemoteFile {
                node: self.node().to_string(),
                path: path.to_path_buf(),
                message: format!(
                    "cannot read it ({}): {}",
                    output.status_text(),
                    output.stderr_text()
                ),
            }),
        }
    }

    /// Replaces file `path` on the node with `bytes`, mode `mode` (e.g. `0o644`, `0o400`):
    /// temporary file in the same directory, fsync, rename over `path`, fsync of the
    /// directory. On any failure `path` keeps its old content.
    fn write_file_atomic(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
        let path_text = remote_path(self.node(), path)?;
        let mode_text = format!("{:04o}", mode & 0o7777);
        let size_text = bytes.len().to_string();
        let output = self.run_with_stdin(
            &["sh", "-c", WRITE_SCRIPT, "sh", path_text, &mode_text, &size_text],
            bytes,
        )?;
        if output.success() {
            return Ok(());
        }
        Err(Error::RemoteFile {
            node: self.node().to_string(),
            path: path.to_path_buf(),
            message: format!(
                "cannot replace it ({}): {}",
                output.status_text(),
                output.stderr_text()
            ),
        })
    }
}

/// `path` as a remote command argument: absolute and valid UTF-8 (a relative path would
/// depend on the remote login directory).
fn remote_path<'a>(node: &str, path: &'a Path) -> Result<&'a str> {
    match path.to_str() {
        Some(text) if path.is_absolute() => Ok(text),
        _ => Err(Error::RemoteFile {
            node: node.to_string(),
            path: path.to_path_buf(),
            message: "remote paths must be absolute and UTF-8".into(),
        }),
    }
}

/// The result of a command whose stdin was fed while it ran: its output, unless feeding
/// stdin failed (the command exited before reading everything), which is an error naming the
/// node rather than a caller believing the bytes arrived.
pub(crate) fn finish(
    node: &str,
    command: &[&str],
    fed: std::io::Result<()>,
    output: std::process::Output,
) -> Result<CommandOutput> {
    if let Err(error) = fed {
        return Err(Error::Remote {
            node: node.to_string(),
            command: command_line(command),
            message: format!(
                "stdin closed after part of the input ({error}); exit {:?}",
                output.status.code()
            ),
        });
    }
    Ok(CommandOutput {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: output.stderr,
    })
}

/// The argv as one line, for messages.
pub(crate) fn command_line(command: &[&str]) -> String {
    command.join(" ")
}

/// A file on a `FakeNode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeFile {
    /// The content.
    pub bytes: Vec<u8>,
    /// The permission bits.
    pub mode: u32,
}

/// One call a `FakeNode` received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FakeCall {
    /// `run` or `run_with_stdin`: the argv and the bytes given on stdin (empty for `run`).
    Run {
        /// The argv.
        command: Vec<String>,
        /// What was streamed into stdin.
        stdin: Vec<u8>,
    },
    /// `read_file`.
    Read {
        /// The file.
        path: PathBuf,
    },
    /// `write_file_atomic`.
    Write {
        /// The file.
        path: PathBuf,
        /// The mode asked for.
        mode: u32,
    },
}

#[derive(Debug, Default)]
struct FakeState {
    files: BTreeMap<PathBuf, FakeFile>,
    /// Per argv: the answers still to give, in order; the last one is repeated.
    responses: BTreeMap<Vec<String>, Vec<CommandOutput>>,
    calls: Vec<FakeCall>,
    unreachable: bool,
    failing_writes: Option<String>,
}

/// An in-memory node for unit tests of code written against `Remote`: it holds files,
/// answers commands from a table set up by the test, records every call, and can be made
/// unreachable or made to refuse writes (a full disk). A command without a response is an
/// error naming the node and the command, so a test cannot silently run something it did
/// not expect.
#[derive(Debug)]
pub struct FakeNode {
    name: String,
    state: Mutex<FakeState>,
}

impl FakeNode {
    /// A reachable node with no files and no responses.
    pub fn new(name: &str) -> FakeNode {
        FakeNode {
            name: name.to_string(),
            state: Mutex::new(FakeState::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        // A test that panicked while holding the lock leaves consistent data behind: every
        // update below is a single insert or push.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Puts a file on the node.
    pub fn put_file(&self, path: &Path, bytes: &[u8], mode: u32) {
        self.state().files.insert(
            path.to_path_buf(),
            FakeFile {
                bytes: bytes.to_vec(),
                mode,
            },
        );
    }

    /// The file at `path`, if any.
    pub fn file(&self, path: &Path) -> Option<FakeFile> {
        self.state().files.get(path).cloned()
    }

    /// Makes `command` (exactly this argv) answer `output`, every time it is run.
    pub fn respond(&self, command: &[&str], output: CommandOutput) {
        self.respond_in_turn(command, vec![output]);
    }

    /// Makes `command` answer `outputs` one per run, in order, then the last one for ever
    /// (a node whose state changes while it is polled). An empty list removes the answer.
    pub fn respond_in_turn(&self, command: &[&str], outputs: Vec<CommandOutput>) {
        let argv: Vec<String> = command.iter().map(|word| word.to_string()).collect();
        let mut state = self.state();
        if outputs.is_empty() {
            state.responses.remove(&argv);
        } else {
            state.responses.insert(argv, outputs);
        }
    }

    /// Makes every later call fail as if the node could not be reached (or reachable again).
    pub fn set_unreachable(&self, unreachable: bool) {
        self.state().unreachable = unreachable;
    }

    /// Makes every later `write_file_atomic` fail with `message` (`None`: succeed again),
    /// leaving the old file in place, as a full disk would.
    pub fn fail_writes(&self, message: Option<&str>) {
        self.state().failing_writes = message.map(str::to_string);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.state().calls.clone()
    }

    fn unreachable_error(&self, what: String) -> Error {
        Error::Remote {
            node: self.name.clone(),
            command: what,
            message: "the node cannot be reached (fake)".into(),
        }
    }

    fn answer(&self, command: &[&str], stdin: &[u8]) -> Result<CommandOutput> {
        let mut state = self.state();
        let argv: Vec<String> = command.iter().map(|word| word.to_string()).collect();
        state.calls.push(FakeCall::Run {
            command: argv.clone(),
            stdin: stdin.to_vec(),
        });
        if state.unreachable {
            drop(state);
            return Err(self.unreachable_error(command_line(command)));
        }
        let answers = state.responses.get_mut(&argv);
        let answer = answers.and_then(|answers| {
            if answers.len() > 1 {
                Some(answers.remove(0))
            } else {
                answers.first().cloned()
            }
        });
        answer.ok_or_else(|| Error::Remote {
            node: self.name.clone(),
            command: command_line(command),
            message: "the fake node has no response for this command".into(),
        })
    }
}

impl Remote for FakeNode {
    fn node(&self) -> &str {
        &self.name
    }

    fn run(&self, command: &[&str]) -> Result<CommandOutput> {
        self.answer(command, &[])
    }

    fn run_with_stdin(&self, command: &[&str], stdin: &[u8]) -> Result<CommandOutput> {
        self.answer(command, stdin)
    }

    fn read_file(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        let mut state = self.state();
        state.calls.push(FakeCall::Read {
            path: path.to_path_buf(),
        });
        if state.unreachable {
            drop(state);
            return Err(self.unreachable_error(format!("read {}", path.display())));
        }
        Ok(state.files.get(path).map(|file| file.bytes.clone()))
    }

    fn write_file_atomic(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
        let mut state = self.state();
        state.calls.push(FakeCall::Write {
            path: path.to_path_buf(),
            mode,
        });
        if state.unreachable {
            drop(state);
            return Err(self.unreachable_error(format!("write {}", path.display())));
        }
        if let Some(message) = state.failing_writes.clone() {
            return Err(Error::RemoteFile {
                node: self.name.clone(),
                path: path.to_path_buf(),
                message: format!("cannot replace it: {message}"),
            });
        }
        state.files.insert(
            path.to_path_buf(),
            FakeFile {
                bytes: bytes.to_vec(),
                mode: mode & 0o7777,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    fn output(code: i32, stdout: &str) -> CommandOutput {
        CommandOutput {
            code: Some(code),
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
        }
    }

    #[test]
    fn the_fake_answers_only_what_it_was_told_and_records_every_call() {
        let node = FakeNode::new("n1");
        node.respond(&["corosync-quorumtool", "-s"], output(0, "Quorate: Yes\n"));
        let answer = node.run(&["corosync-quorumtool", "-s"]).unwrap();
        assert!(answer.success());
        assert_eq!(answer.stdout_text(), "Quorate: Yes\n");
        let error = node.run(&["reboot"]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "node n1: `reboot` failed: the fake node has no response for this command"
        );
        node.respond_in_turn(
            &["corosync-quorumtool", "-s"],
            vec![output(2, "Quorate: No\n"), output(0, "Quorate: Yes\n")],
        );
        let polled: Vec<Option<i32>> = (0..3)
            .map(|_| node.run(&["corosync-quorumtool", "-s"]).unwrap().code)
            .collect();
        assert_eq!(polled, vec![Some(2), Some(0), Some(0)]);
        node.respond_in_turn(&["corosync-quorumtool", "-s"], Vec::new());
        assert!(node.run(&["corosync-quorumtool", "-s"]).is_err());
        node.respond(&["sha256sum"], output(0, "abc  -\n"));
        node.run_with_stdin(&["sha256sum"], b"key bytes").unwrap();
        let calls = node.calls();
        assert_eq!(calls.len(), 7);
        assert_eq!(
            calls[..2],
            [
                FakeCall::Run {
                    command: vec!["corosync-quorumtool".into(), "-s".into()],
                    stdin: Vec::new()
                },
                FakeCall::Run {
                    command: vec!["reboot".into()],
                    stdin: Vec::new()
                },
            ]
        );
        assert_eq!(
            calls.last(),
            Some(&FakeCall::Run {
                command: vec!["sha256sum".into()],
                stdin: b"key bytes".to_vec()
            })
        );
    }

    #[test]
    fn the_fake_keeps_files_and_their_modes_and_can_refuse_writes() {
        let node = FakeNode::new("n2");
        let path = Path::new("/etc/corosync/corosync.conf");
        assert_eq!(node.read_file(path).unwrap(), None);
        node.put_file(path, b"old", 0o644);
        assert_eq!(node.read_file(path).unwrap(), Some(b"old".to_vec()));
        node.write_file_atomic(path, b"new", 0o100400).unwrap();
        assert_eq!(
            node.file(path),
            Some(FakeFile {
                bytes: b"new".to_vec(),
                mode: 0o400
            })
        );
        node.fail_writes(Some("No space left on device"));
        let error = node.write_file_atomic(path, b"newer", 0o644).unwrap_err();
        assert_eq!(
            error.to_string(),
            "node n2: /etc/corosync/corosync.conf: cannot replace it: No space left on device"
        );
        assert_eq!(node.file(path).map(|file| file.bytes), Some(b"new".to_vec()));
        node.fail_writes(None);
        node.write_file_atomic(path, b"newer", 0o644).unwrap();
        assert_eq!(node.read_file(path).unwrap(), Some(b"newer".to_vec()));
        assert_eq!(
            node.calls().last(),
            Some(&FakeCall::Read {
                path: path.to_path_buf()
            })
        );
    }

    #[test]
    fn an_unreachable_fake_fails_every_call_naming_the_node() {
        let node = FakeNode::new("n3");
        node.respond(&["true"], output(0, ""));
        node.put_file(Path::new("/f"), b"x", 0o600);
        node.set_unreachable(true);
        for error in [
            node.run(&["true"]).unwrap_err(),
            node.run_with_stdin(&["true"], b"x").unwrap_err(),
            node.read_file(Path::new("/f")).unwrap_err(),
            node.write_file_atomic(Path::new("/f"), b"y", 0o600).unwrap_err(),
        ] {
            assert!(error.to_string().starts_with("node n3: `"), "{error}");
            assert!(
                error.to_string().ends_with("the node cannot be reached (fake)"),
                "{error}"
            );
        }
        assert_eq!(
            node.file(Path::new("/f")).map(|file| file.bytes),
            Some(b"x".to_vec())
        );
        node.set_unreachable(false);
        assert!(node.run(&["true"]).unwrap().success());
    }

    #[test]
    fn command_output_describes_itself() {
        let killed = CommandOutput {
            code: None,
            stdout: Vec::new(),
            stderr: b"  Killed\n".to_vec(),
        };
        assert!(!killed.success());
        assert_eq!(killed.status_text(), "killed by a signal");
        assert_eq!(killed.stderr_text(), "Killed");
        assert_eq!(output(3, "").status_text(), "exit code 3");
    }

    /// This machine as a `Remote`: `sh` run locally. Only for testing the shell scripts.
    struct Local;

    impl Remote for Local {
        fn node(&self) -> &str {
            "local"
        }

        fn run(&self, command: &[&str]) -> Result<CommandOutput> {
            self.run_with_stdin(command, &[])
        }

        fn run_with_stdin(&self, command: &[&str], stdin: &[u8]) -> Result<CommandOutput> {
            use std::io::Write;
            let mut child = Command::new(command[0])
                .args(&command[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut pipe = child.stdin.take().unwrap();
            // The scripts read all of stdin before writing anything: no deadlock.
            let _ = pipe.write_all(stdin);
            drop(pipe);
            let output = child.wait_with_output().unwrap();
            Ok(CommandOutput {
                code: output.status.code(),
                stdout: output.stdout,
                stderr: output.stderr,
            })
        }
    }

    fn scratch(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("quorate-transport-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_shell_scripts_read_and_replace_files_with_the_mode_given() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("scripts");
        let path = dir.join("authkey");
        assert_eq!(Local.read_file(&path).unwrap(), None);
        let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        Local.write_file_atomic(&path, &bytes, 0o400).unwrap();
        assert_eq!(Local.read_file(&path).unwrap(), Some(bytes.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o400);
        Local.write_file_atomic(&path, b"", 0o644).unwrap();
        assert_eq!(Local.read_file(&path).unwrap(), Some(Vec::new()));
        assert_eq!(leftovers(&dir), vec!["authkey".to_string()]);
        let error = Local
            .write_file_atomic(&dir.join("missing").join("f"), b"x", 0o644)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "node local: {}/missing/f: cannot replace it (exit code 1): mktemp",
                dir.display()
            )),
            "{error}"
        );
        std::fs::create_dir(dir.join("sub")).unwrap();
        let error = Local
            .write_file_atomic(&dir.join("sub"), b"x", 0o644)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("sub: cannot replace it (exit code 1): mv: cannot overwrite directory"),
            "{error}"
        );
        assert_eq!(std::fs::read_dir(dir.join("sub")).unwrap().count(), 0);
        std::fs::remove_dir(dir.join("sub")).unwrap();
        let error = Local.read_file(&dir).unwrap_err().to_string();
        assert!(error.contains("cannot read it (exit code 1)"), "{error}");
        let error = Local.read_file(Path::new("relative")).unwrap_err().to_string();
        assert_eq!(
            error,
            "node local: relative: remote paths must be absolute and UTF-8"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stream_cut_short_replaces_nothing() {
        let dir = scratch("short");
        let path = dir.join("corosync.conf");
        std::fs::write(&path, "old\n").unwrap();
        let path_text = path.to_string_lossy().into_owned();
        // As if the connection died after 3 of 10 bytes.
        let output = Local
            .run_with_stdin(
                &["sh", "-c", WRITE_SCRIPT, "sh", &path_text, "0644", "10"],
                b"new",
            )
            .unwrap();
        assert_eq!(output.code, Some(1));
        assert_eq!(
            output.stderr_text(),
            format!("received 3 of 10 bytes; {path_text} left unchanged")
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(leftovers(&dir), vec!["corosync.conf".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
