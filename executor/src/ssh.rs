//! Talking to nodes over SSH, with the openssh crate on tokio.
//!
//! Owns `SshOptions`, `NodeSession` (one ControlMaster connection to one inventory node,
//! host key checked strictly against the inventory's known_hosts), `CommandOutput`, and
//! reading corosync's state from every node of an inventory (`read_cluster`, or
//! `read_cluster_blocking` from synchronous code). It must not know about the lab's
//! namespaces: everything it needs is in the `Inventory` (the lab's ssh_config carries the
//! way into each node).

use crate::error::{Error, Result};
use crate::inventory::{Inventory, InventoryNode};
use crate::status::{classify, Corosync, NodeReport};
use openssh::{KnownHosts, Session, SessionBuilder, Stdio};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::time::Duration;

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

/// What a remote command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    /// The exit code; `None` when it was killed by a signal.
    pub code: Option<i32>,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
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

    /// Runs `program args` on the node (arguments are shell-escaped), stdin closed.
    /// A non-zero exit is not an error; a command that is not found is.
    pub async fn run(&self, program: &str, args: &[&str]) -> Result<CommandOutput> {
        let mut command = self.session.command(program);
        command.args(args.iter().copied()).stdin(Stdio::null());
        let output = tokio::time::timeout(self.command_timeout, command.output())
            .await
            .map_err(|_| Error::SshTimeout {
                node: self.node.clone(),
                seconds: self.command_timeout.as_secs(),
            })?
            .map_err(|source| Error::Ssh {
                node: self.node.clone(),
                source,
            })?;
        Ok(CommandOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Reads corosync's state with `corosync-quorumtool -s`.
    pub async fn read_corosync(&self) -> Result<Corosync> {
        let output = self.run("corosync-quorumtool", &["-s"]).await?;
        Ok(classify(output.code, &output.stdout, &output.stderr))
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

/// `read_cluster` for synchronous callers: runs it on a private tokio runtime. Must not be
/// called from inside a tokio runtime.
pub fn read_cluster_blocking(inventory: &Inventory, options: &SshOptions) -> Result<Vec<NodeReport>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|error| Error::io("tokio runtime", error))?;
    Ok(runtime.block_on(read_cluster(inventory, options)))
}

/// Runs one command on one node, for synchronous callers (see `read_cluster_blocking`).
pub fn run_blocking(
    inventory: &Inventory,
    node: &InventoryNode,
    options: &SshOptions,
    program: &str,
    args: &[&str],
) -> Result<CommandOutput> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| Error::io("tokio runtime", error))?;
    runtime.block_on(async {
        let session = NodeSession::connect(inventory, node, options).await?;
        let output = session.run(program, args).await;
        let _ = session.close().await;
        output
    })
}
