//! A lab node as a `transport::Remote`: commands run inside the node through `nsenter`.
//!
//! Owns `NsenterNode`: the node's name and its holder process, whose network, mount and UTS
//! namespaces every command enters (so it sees the node's own /etc/corosync, /run and
//! hostname, as an SSH login would). Bytes for stdin go from memory into the pipe. It must
//! not decide anything about the lab: `Lab::node` hands these out for live holders only.

use crate::error::{Error, Result};
use crate::lab::sys;
use crate::transport::{command_line, finish, CommandOutput, Remote};
use std::io::Write;
use std::process::{Command, Stdio};

/// One lab node reached through `nsenter -t HOLDER -n -m -u`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NsenterNode {
    name: String,
    holder_pid: u32,
}

impl NsenterNode {
    /// The node `name` whose namespaces process `holder_pid` holds.
    pub fn new(name: &str, holder_pid: u32) -> NsenterNode {
        NsenterNode {
            name: name.to_string(),
            holder_pid,
        }
    }

    fn spawn(&self, command: &[&str], stdin: Option<&[u8]>) -> Result<CommandOutput> {
        let failed = |message: String| Error::Remote {
            node: self.name.clone(),
            command: command_line(command),
            message,
        };
        if command.is_empty() {
            return Err(failed("empty command".into()));
        }
        let nsenter = sys::which("nsenter").ok_or_else(|| Error::MissingProgram {
            program: "nsenter".into(),
            package: "util-linux".into(),
        })?;
        let argv = sys::node_argv(self.holder_pid, command);
        let mut child = Command::new(nsenter)
            .args(&argv[1..])
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| failed(error.to_string()))?;
        let pipe = child.stdin.take();
        // Feed stdin on a thread while this one collects stdout and stderr, so that a command
        // that answers while it reads cannot block either side.
        let (fed, output) = std::thread::scope(|scope| {
            let feeder = scope.spawn(move || match (pipe, stdin) {
                (Some(mut pipe), Some(bytes)) => pipe.write_all(bytes),
                _ => Ok(()),
            });
            let output = child.wait_with_output();
            let fed = feeder
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("stdin writer panicked")));
            (fed, output)
        });
        let output = output.map_err(|error| failed(error.to_string()))?;
        finish(&self.name, command, fed, output)
    }
}

impl Remote for NsenterNode {
    fn node(&self) -> &str {
        &self.name
    }

    fn run(&self, command: &[&str]) -> Result<CommandOutput> {
        self.spawn(command, None)
    }

    fn run_with_stdin(&self, command: &[&str], stdin: &[u8]) -> Result<CommandOutput> {
        self.spawn(command, Some(stdin))
    }
}
