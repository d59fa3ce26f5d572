//! Reading every node of an inventory at once, for `quorate status` and `apply`'s preflight.
//!
//! Owns `read_remotes` (one thread per node, each through its own `Remote`; a node without
//! one is reported unreachable with the reason) and `read_inventory` (SSH sessions to every
//! inventory node through `ssh::connect_all`, then `read_remotes`, then `drift::analyze`).
//! It must not judge the readings.

use super::drift::{analyze, ClusterStatus};
use super::reading::{read_node_status, NodeStatus};
use crate::error::Result;
use crate::inventory::Inventory;
use crate::ssh::{connect_all, SshOptions};
use crate::transport::Remote;

/// A node to read: its inventory name, id and address, and the way to it (or why there is
/// none).
pub struct Target<'a> {
    /// The inventory name.
    pub name: String,
    /// The node id.
    pub nodeid: u32,
    /// The address it is reached at.
    pub address: String,
    /// The way to it, or why it could not be reached.
    pub remote: std::result::Result<&'a dyn Remote, String>,
}

/// Reads every target at once (one thread each), in the order given.
pub fn read_remotes(targets: &[Target<'_>]) -> Vec<NodeStatus> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .iter()
            .map(|target| {
                scope.spawn(move || match &target.remote {
                    Ok(remote) => read_node_status(*remote, target.nodeid, &target.address),
                    Err(error) => {
                        NodeStatus::unreachable(&target.name, target.nodeid, &target.address, error.clone())
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(targets)
            .map(|(handle, target)| {
                handle.join().unwrap_or_else(|_| {
                    NodeStatus::unreachable(
                        &target.name,
                        target.nodeid,
                        &target.address,
                        "reading the node panicked (a bug)".into(),
                    )
                })
            })
            .collect()
    })
}

/// Connects to every node of `inventory` over SSH, reads them all and analyses the result.
/// Nodes that cannot be reached are reported as such; only a failure to start at all (no
/// runtime) is an error.
pub fn read_inventory(inventory: &Inventory, options: &SshOptions) -> Result<ClusterStatus> {
    let sessions = connect_all(inventory, options)?;
    let targets: Vec<Target<'_>> = inventory
        .nodes
        .iter()
        .zip(&sessions)
        .map(|(node, session)| Target {
            name: node.name.clone(),
            nodeid: node.nodeid,
            address: node.address.clone(),
            remote: match session {
                Ok(session) => Ok(session as &dyn Remote),
                Err(error) => Err(error.to_string()),
            },
        })
        .collect();
    let readings = read_remotes(&targets);
    drop(targets);
    drop(sessions);
    Ok(analyze(readings))
}
