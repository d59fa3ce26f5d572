//! Talking to nodes over SSH, with the openssh crate on tokio.
//!
//! Owns `SshOptions`, `NodeSession` (one ControlMaster connection to one inventory node,
//! host key checked strictly against the inventory's known_hosts; async), `SshNode` (a
//! `NodeSession` as a synchronous `transport::Remote`; `connect_all` opens one per inventory
//! node in parallel), the crate's one tokio runtime
//! (`runtime`, built on first use and shared by every synchronous caller, instead of a
//! runtime per call), and reading corosync's state from every node of an inventory
//! (`read_cluster`, or `read_cluster_blocking` from synchronous code). It must not know about
//! the lab's namespaces: everything it needs is in the `Inventory` (the lab's ssh_config
//! carries the way into each node).

use crate::error::{Error, Result};
use crate::inventory::{Inventory, InventoryNode};
use crate::status::{classify, Corosync, NodeReport};
use crate::transport::{command_line, finish, CommandOutput, Remote};
use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The crate's tokio runtime; see `runtime`.
static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// The one tokio runtime synchronous callers share (two worker threads, IO and timers),
/// built on first use. Its `block_on` may be called from several threads at once, but not
/// from inside an async task.
pub fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("quorate-ssh")
        .enable_all()
        .build()
        .map_err(|error| Error::io("tokio runtime", error))?;
    // Two threads may race here; the loser's runtime is dropped unused.
    Ok(RUNTIME.get_or_init(|| built))
}

/// How to connect.
#[derive(Clone, Debug)]
pub struct SshOptions {
    /// Where openssh puts its ControlMaster sockets; keep the path short (Unix sockets are
    /// limited to about 108 bytes).
    pub control_dir: PathBuf,
    /// Limit for establishing a connection (whole seconds).
    pub connect_timeout: Duration,
    /// Limit for one remote command.
    pub command_timeout: Duration,
}

impl Default for SshOptions {
    fn default() -> SshOptions {
        SshOptions {
            control_dir: std::env::temp_dir(),
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(30),
        }
    }
}

/// An open SSH connection to one node.
pub struct NodeSession {
    node: String,
    session: Session,
    command_timeout: Duration,
}

impl NodeSession {
    /// Connects to `node` as the inventory says: its user, port, key and known_hosts (host
    /// key checking strict), and the inventory's ssh_config if it has one.
    pub async fn connect(
        inventory: &Inventory,
        node: &InventoryNode,
        options: &SshOptions,
    ) -> Result<NodeSession> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&options.control_dir)
            .map_err(|error| Error::io(&options.control_dir, error))?;
        let mut builder = SessionBuilder::default();
        builder
            .user(node.ssh_user.clone())
            .port(node.ssh_port)
            .keyfile(&node.ssh_key)
            .known_hosts_check(KnownHosts::Strict)
            .user_known_hosts_file(&node.known_hosts)
            .control_directory(&options.control_dir)
            .connect_timeout(options.connect_timeout);
        if let Some(config) = &inventory.ssh_config {
            builder.config_file(config);
        }
        // connect_timeout bounds the TCP connect only; bound the whole handshake too.
        let limit = options.connect_timeout + Duration::from_secs(5);
        let session = tokio::time::timeout(limit, builder.connect(&node.address))
            .await
            .map_err(|_| Error::SshTimeout {
                node: node.name.clone(),
                seconds: limit.as_secs(),
            })?
            .map_err(|source| Error::Ssh {
                node: node.name.clone(),
                source,
            })?;
        Ok(NodeSession {
            node: node.name.clone(),
            session,
            command_timeout: options.command_timeout,
        })
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Runs `command` (an argv; every word is shell-escaped for the remote shell) with stdin
    /// closed. A non-zero exit is not an error; a connection that fails is.
    pub async fn run(&self, command: &[&str]) -> Result<CommandOutput> {
        self.run_with_stdin(command, None).await
    }

    /// Runs `command` with `stdin` (if any) streamed into it from memory, then closed; stdout
    /// and stderr are read at the same time, so a command that answers while it reads does
    /// not block. `None` closes stdin at once.
    pub async fn run_with_stdin(&self, command: &[&str], stdin: Option<&[u8]>) -> Result<CommandOutput> {
        let Some((program, args)) = command.split_first() else {
            return Err(self.remote_error(command, "empty command".into()));
        };
        let mut remote = self.session.command(*program);
        remote
            .args(args.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let work = async {
            let mut child = remote.spawn().await.map_err(|source| Error::Ssh {
                node: self.node.clone(),
                source,
            })?;
            let pipe = child.stdin().take();
            let feed = async move {
                let (Some(mut pipe), Some(bytes)) = (pipe, stdin) else {
                    return Ok(());
                };
                pipe.write_all(bytes).await?;
                pipe.shutdown().await
            };
            let (fed, output) = tokio::join!(feed, child.wait_with_output());
            let output = output.map_err(|source| Error::Ssh {
                node: self.node.clone(),
                source,
            })?;
            finish(&self.node, command, fed, output)
        };
        tokio::time::timeout(self.command_timeout, work)
            .await
            .map_err(|_| Error::SshTimeout {
                node: self.node.clone(),
                seconds: self.command_timeout.as_secs(),
            })?
    }

    fn remote_error(&self, command: &[&str], message: String) -> Error {
        Error::Remote {
            node: self.node.clone(),
            command: command_line(command),
            message,
        }
    }

    /// Reads corosync's state with `corosync-quorumtool -s`.
    pub async fn read_corosync(&self) -> Result<Corosync> {
        let output = self.run(&["corosync-quorumtool", "-s"]).await?;
        Ok(classify(
            output.code,
            &output.stdout_text(),
            &output.stderr_text(),
        ))
    }

    /// Closes the connection (stops the ControlMaster).
    pub async fn close(self) -> Result<()> {
        let node = self.node;
        self.session
            .close()
            .await
            .map_err(|source| Error::Ssh { node, source })
    }
}

/// Reads one node: connect, quorumtool, close. Failures become `Corosync::Unknown`.
async fn read_node(inventory: &Inventory, node: &InventoryNode, options: &SshOptions) -> NodeReport {
    let corosync = match NodeSession::connect(inventory, node, options).await {
        Ok(session) => {
            let reading = session.read_corosync().await;
            let _ = session.close().await;
            reading.unwrap_or_else(|error| Corosync::Unknown {
                error: error.to_string(),
            })
        }
        Err(error) => Corosync::Unknown {
            error: error.to_string(),
        },
    };
    NodeReport {
        name: node.name.clone(),
        nodeid: node.nodeid,
        address: node.address.clone(),
        corosync,
    }
}

/// Reads corosync's state on every node of `inventory`, all nodes at once, in inventory order.
pub async fn read_cluster(inventory: &Inventory, options: &SshOptions) -> Vec<NodeReport> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, node) in inventory.nodes.iter().enumerate() {
        let inventory = inventory.clone();
        let node = node.clone();
        let options = options.clone();
        tasks.spawn(async move { (index, read_node(&inventory, &node, &options).await) });
    }
    let mut reports: Vec<Option<NodeReport>> = vec![None; inventory.nodes.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, report)) = joined {
            if let Some(slot) = reports.get_mut(index) {
                *slot = Some(report);
            }
        }
    }
    reports
        .into_iter()
        .zip(&inventory.nodes)
        .map(|(report, node)| {
            report.unwrap_or_else(|| NodeReport {
                name: node.name.clone(),
                nodeid: node.nodeid,
                address: node.address.clone(),
                corosync: Corosync::Unknown {
                    error: "the reading task failed".into(),
                },
            })
        })
        .collect()
}

/// `read_cluster` for synchronous callers, on the shared `runtime`. Must not be called from
/// inside a tokio runtime.
pub fn read_cluster_blocking(inventory: &Inventory, options: &SshOptions) -> Result<Vec<NodeReport>> {
    Ok(runtime()?.block_on(read_cluster(inventory, options)))
}

/// One node over SSH as a synchronous `Remote`: a ControlMaster session kept open for as
/// long as the value lives, driven on the shared `runtime`. Must not be used from inside a
/// tokio runtime (use `NodeSession` there).
pub struct SshNode {
    session: Option<NodeSession>,
    node: String,
}

impl SshNode {
    /// Connects to `node` as `NodeSession::connect` does.
    pub fn connect(inventory: &Inventory, node: &InventoryNode, options: &SshOptions) -> Result<SshNode> {
        let session = runtime()?.block_on(NodeSession::connect(inventory, node, options))?;
        Ok(SshNode {
            session: Some(session),
            node: node.name.clone(),
        })
    }

    fn session(&self) -> Result<&NodeSession> {
        self.session.as_ref().ok_or_else(|| Error::Remote {
            node: self.node.clone(),
            command: String::new(),
            message: "the SSH session is closed".into(),
        })
    }

    /// Closes the session (stops the ControlMaster) and reports a failure to do so; dropping
    /// an `SshNode` closes it too, silently.
    pub fn close(mut self) -> Result<()> {
        match self.session.take() {
            Some(session) => runtime()?.block_on(session.close()),
            None => Ok(()),
        }
    }
}

/// Connects to every node of `inventory` at once, on the shared runtime, in inventory order.
/// A node that cannot be reached gives its own error (naming it); the others still connect.
pub fn connect_all(inventory: &Inventory, options: &SshOptions) -> Result<Vec<Result<SshNode>>> {
    let sessions = runtime()?.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, node) in inventory.nodes.iter().enumerate() {
            let (inventory, node, options) = (inventory.clone(), node.clone(), options.clone());
            tasks.spawn(async move { (index, NodeSession::connect(&inventory, &node, &options).await) });
        }
        let mut sessions: Vec<Option<Result<NodeSession>>> = inventory.nodes.iter().map(|_| None).collect();
        while let Some(joined) = tasks.join_next().await {
            if let Ok((index, session)) = joined {
                if let Some(slot) = sessions.get_mut(index) {
                    *slot = Some(session);
                }
            }
        }
        sessions
    });
    Ok(sessions
        .into_iter()
        .zip(&inventory.nodes)
        .map(|(session, node)| match session {
            Some(session) => session.map(|session| SshNode {
                session: Some(session),
                node: node.name.clone(),
            }),
            None => Err(Error::Remote {
                node: node.name.clone(),
                command: "ssh".into(),
                message: "the connecting task failed".into(),
            }),
        })
        .collect())
}

impl Drop for SshNode {
    fn drop(&mut self) {
        if let (Some(session), Ok(runtime)) = (self.session.take(), runtime()) {
            let _ = runtime.block_on(session.close());
        }
    }
}

impl Remote for SshNode {
    fn node(&self) -> &str {
        &self.node
    }

    fn run(&self, command: &[&str]) -> Result<CommandOutput> {
        runtime()?.block_on(self.session()?.run(command))
    }

    fn run_with_stdin(&self, command: &[&str], stdin: &[u8]) -> Result<CommandOutput> {
        runtime()?.block_on(self.session()?.run_with_stdin(command, Some(stdin)))
    }
}
