//! `quorate lab ...`: a real corosync cluster in network namespaces on this machine (root).
//!
//! Owns the clap arguments of `lab up|down|status|partition|link|heal|stop|start|exec|replay|qnetd|heuristics`
//! (`replay` is run and rendered in `lab_replay.rs`), the
//! rendering of node reports (a table, or the JSON document of `lab status --format json`)
//! and exit codes. It must not build or drive the lab itself: `executor::lab` does.
//!
//! JSON schema of `lab status --format json` (stable):
//! `{"lab": NAME, "dir": DIR, "via": "ssh"|"nsenter", "nodes": [{"name", "nodeid", "address",
//! "corosync": "running"|"stopped"|"unknown", "quorate": bool|null, "members": [ID...]|null,
//! "total_votes", "expected_votes", "quorum": N|null, "flags": [..]|null, "ring_id": S|null,
//! "error": S|null}]}`.

use crate::{EXIT_ERROR, EXIT_OK};
use clap::{Args, Subcommand, ValueEnum};
use executor::lab::{self, ClusterSource, Lab, UpOptions, Via};
use executor::status::{Corosync, NodeReport};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

// `lab replay`'s running and rendering, in a file of its own.
#[path = "lab_replay.rs"]
mod replay;

/// Arguments of `quorate lab`.
#[derive(Debug, Args)]
pub struct LabArgs {
    /// The lab directory (state, configs, keys, logs); one directory per lab.
    #[arg(long, global = true, value_name = "DIR", default_value = lab::DEFAULT_DIR)]
    pub dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: LabCommand,
}

/// The lab's subcommands.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Build the lab: namespaces, bridges, sshd and corosync on every node; wait until the
    /// cluster formed; write the inventory.
    Up(UpArgs),
    /// Remove every namespace, bridge, process and file of the lab (idempotent).
    Down,
    /// Per node: corosync running, membership, quorate, votes, expected, quorum.
    Status(StatusArgs),
    /// Split the cluster, e.g. `1,2|3` (node ids or names); nodes in different groups
    /// cannot talk on any link.
    Partition(PartitionArgs),
    /// Cut or restore one corosync link.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Remove any partition and restore every link.
    Heal(WaitArgs),
    /// Stop corosync on a node.
    Stop(NodeArgs),
    /// Start corosync on a node.
    Start(NodeArgs),
    /// Run a command inside a node (its network, mount and UTS namespaces).
    Exec(ExecArgs),
    /// Run a what-if script on the lab and print reality next to `quorate whatif`'s
    /// prediction, node by node after every step; exit 1 on any mismatch.
    Replay(ReplayArgs),
    /// The quorum device's qnetd host (`lab up --qdevice`): stop or start it, cut or restore
    /// nodes' paths to it.
    #[command(subcommand)]
    Qnetd(QnetdCommand),
    /// The nodes' qdevice heuristics (`lab up --qdevice ... --heuristics`).
    #[command(subcommand)]
    Heuristics(HeuristicsCommand),
}

/// Arguments of `lab up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// A corosync.conf to run; its addresses are rewritten to lab addresses (198.18.0.0/15).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "nodes",
        conflicts_with = "nodes"
    )]
    pub config: Option<PathBuf>,
    /// Generate a knet cluster of N nodes instead.
    #[arg(long, value_name = "N")]
    pub nodes: Option<usize>,
    /// Number of corosync links of the generated cluster.
    #[arg(long, value_name = "L", requires = "nodes", default_value_t = 1)]
    pub links: u8,
    /// Do not start corosync and give no node corosync.conf or an authkey (sshd still runs);
    /// the cluster's config stays in DIR/corosync.conf, a target to form.
    #[arg(long)]
    pub no_start: bool,
    /// Add N spare nodes after the cluster's (numbered on, e.g. n4 after n1..n3): an address
    /// on every link and sshd, but no corosync.conf, no authkey, no corosync; listed in the
    /// inventory with `spare = true`.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub spare: usize,
    /// Add N links after the cluster's highest that its config does not use: a bridge each
    /// and an address 198.18.<link>.<slot> on it for every node (what an `add-link` plan adds).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub spare_links: u8,
    /// Give every node a second address on every link, 198.18.<link>.<100 + slot>, in no
    /// config (what a `readdress` plan moves a node to).
    #[arg(long)]
    pub spare_addresses: bool,
    /// Run a quorum device: a qnetd host (corosync-qnetd, TLS certificates as `pvecm qdevice
    /// setup` makes them) on a bridge of its own, corosync-qdevice on every node, and
    /// `quorum.device` with this algorithm in every node's config.
    #[arg(long, value_name = "ALGORITHM", value_parser = ["ffsplit", "lms", "2nodelms"])]
    pub qdevice: Option<String>,
    /// `quorum.device.net.tie_breaker`: lowest, highest or a node id.
    #[arg(long, value_name = "T", requires = "qdevice")]
    pub tie_breaker: Option<String>,
    /// Configure qdevice heuristics (one check that `lab heuristics fail N` makes fail).
    #[arg(long, requires = "qdevice")]
    pub heuristics: bool,
    /// Run only the qnetd host (corosync-qnetd with its CA, and an sshd, the inventory's
    /// `[qnetd]`): no node gets quorum.device, a certificate or corosync-qdevice, so that a
    /// plan adds the device (`quorate plan --goal 'add-qdevice 198.19.0.254'`).
    #[arg(long, requires = "qdevice")]
    pub qdevice_later: bool,
}

/// `lab qnetd ...`.
#[derive(Debug, Subcommand)]
pub enum QnetdCommand {
    /// Stop corosync-qnetd.
    Down,
    /// Start corosync-qnetd again.
    Up,
    /// Cut these nodes' path to the qnetd host (their cluster links stay up).
    Cut(QnetdNodes),
    /// Give these nodes their path to the qnetd host back.
    Reach(QnetdNodes),
}

/// Nodes of `lab qnetd cut|reach` and `lab heuristics fail|pass`.
#[derive(Debug, Args)]
pub struct QnetdNodes {
    /// Node names or ids.
    #[arg(required = true)]
    pub nodes: Vec<String>,
}

/// `lab heuristics ...`.
#[derive(Debug, Subcommand)]
pub enum HeuristicsCommand {
    /// Make the nodes' qdevice heuristics fail.
    Fail(QnetdNodes),
    /// Make them pass again.
    Pass(QnetdNodes),
}

/// Output formats of `lab status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// A table.
    Human,
    /// The stable JSON document described in the module documentation.
    Json,
}

/// How `lab status` reads the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViaArg {
    /// SSH when every node's sshd runs, else nsenter.
    Auto,
    /// nsenter into each node's namespaces.
    Nsenter,
    /// SSH with the lab inventory.
    Ssh,
}

/// Arguments of `lab status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
    /// How to read the nodes.
    #[arg(long, value_enum, default_value_t = ViaArg::Auto)]
    pub via: ViaArg,
}

/// Whether to wait for the memberships to settle.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Return at once instead of waiting for the memberships to settle.
    #[arg(long)]
    pub no_wait: bool,
}

/// Arguments of `lab partition`.
#[derive(Debug, Args)]
pub struct PartitionArgs {
    /// Groups separated by `|`, nodes by `,`: `1,2|3`.
    #[arg(value_name = "SPEC")]
    pub spec: String,
    /// Waiting.
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// `lab link down|up`.
#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Cut link L for the given nodes (all when none given).
    Down(LinkArgs),
    /// Restore link L for the given nodes (all when none given).
    Up(LinkArgs),
}

/// Arguments of `lab link down|up`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The link number.
    #[arg(value_name = "L")]
    pub link: u8,
    /// Node names or ids.
    #[arg(value_name = "NODE")]
    pub nodes: Vec<String>,
    /// Waiting.
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments naming one node.
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Node name or id.
    #[arg(value_name = "NODE")]
    pub node: String,
    /// Waiting.
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// Arguments of `lab exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Node name or id.
    #[arg(value_name = "NODE")]
    pub node: String,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Arguments of `lab replay`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("scenario").required(true).args(["script", "script_file"])))]
pub struct ReplayArgs {
    /// The scenario, e.g. `split 1:1 2:2,3; heal` (steps separated by `;` or newlines).
    #[arg(short = 's', long = "script", value_name = "SCRIPT")]
    pub script: Option<String>,
    /// Read the scenario from a file.
    #[arg(long, value_name = "F")]
    pub script_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
    /// Restart corosync on every node first (all together, no partition, every link up), so
    /// that the lab starts where the prediction starts.
    #[arg(long)]
    pub fresh: bool,
}

/// Runs `quorate lab ...`. Returns the exit code: 0 done, 2 the lab could not do it (or, for
/// `status`, some node could not be read); `exec` returns the command's own exit code.
pub fn run(args: &LabArgs, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<u8> {
    let dir = &args.dir;
    match &args.command {
        LabCommand::Up(up) => {
            let source = match (&up.config, up.nodes) {
                (Some(config), _) => ClusterSource::Config(config.clone()),
                (None, Some(nodes)) => ClusterSource::Generated {
                    nodes,
                    links: up.links,
                },
                (None, None) => anyhow::bail!("give --config FILE or --nodes N"),
            };
            let options = UpOptions {
                dir: dir.clone(),
                source,
                start: !up.no_start,
                spare: up.spare,
                spare_links: up.spare_links,
                spare_addresses: up.spare_addresses,
                qdevice: up.qdevice.as_ref().map(|algorithm| lab::qnetd::QdeviceOptions {
                    algorithm: algorithm.clone(),
                    tie_breaker: up.tie_breaker.clone(),
                    heuristics: up.heuristics,
                    later: up.qdevice_later,
                }),
            };
            let started = Instant::now();
            let report = lab::up(&options, &mut |line| {
                let _ = writeln!(err, "lab: {line}");
            })?;
            writeln!(err, "lab: up in {:.1} s", started.elapsed().as_secs_f64())?;
            for rewrite in &report.rewrites {
                writeln!(
                    out,
                    "{} {}: {} -> {}",
                    rewrite.place, rewrite.key, rewrite.from, rewrite.to
                )?;
            }
            writeln!(out, "inventory: {}", report.inventory.display())?;
            if !report.nodes.is_empty() {
                render_table(&report.nodes, out)?;
            }
            Ok(EXIT_OK)
        }
        LabCommand::Down => {
            let started = Instant::now();
            let report = lab::down(dir, &mut |line| {
                let _ = writeln!(err, "lab: {line}");
            })?;
            if report.namespaces.is_empty() && report.processes == 0 && !report.removed_dir {
                writeln!(out, "no lab in {}: nothing to remove", dir.display())?;
            } else {
                writeln!(
                    out,
                    "removed lab in {}: {} namespaces, {} processes ({:.1} s)",
                    dir.display(),
                    report.namespaces.len(),
                    report.processes,
                    started.elapsed().as_secs_f64()
                )?;
            }
            Ok(EXIT_OK)
        }
        LabCommand::Status(status) => {
            let lab = Lab::open(dir)?;
            let via = match status.via {
                ViaArg::Auto => Via::Auto,
                ViaArg::Nsenter => Via::Nsenter,
                ViaArg::Ssh => Via::Ssh,
            };
            let (reports, used) = lab.status(via)?;
            let via_name = if used == Via::Ssh { "ssh" } else { "nsenter" };
            match status.format {
                StatusFormat::Human => {
                    writeln!(
                        out,
                        "lab {} in {} (read via {via_name})",
                        lab.state().name,
                        dir.display()
                    )?;
                    render_table(&reports, out)?;
                    if lab.has_qnetd() {
                        for (name, text) in lab.qdevice_status()? {
                            writeln!(out, "\n{name}:")?;
                            for line in text.lines() {
                                writeln!(out, "  {line}")?;
                            }
                        }
                    }
                }
                StatusFormat::Json => {
                    let document = StatusJson {
                        lab: &lab.state().name,
                        dir: dir.display().to_string(),
                        via: via_name,
                        nodes: reports.iter().map(NodeJson::from).collect(),
                    };
                    serde_json::to_writer_pretty(&mut *out, &document)?;
                    writeln!(out)?;
                }
            }
            let unknown = reports
                .iter()
                .any(|r| matches!(r.corosync, Corosync::Unknown { .. }));
            Ok(if unknown { EXIT_ERROR } else { EXIT_OK })
        }
        LabCommand::Partition(partition) => {
            let mut lab = Lab::open(dir)?;
            let groups = lab.parse_partition(&partition.spec)?;
            let reports = lab.partition(&groups, !partition.wait.no_wait)?;
            render_table(&reports, out)?;
            Ok(EXIT_OK)
        }
        LabCommand::Link(link) => {
            let mut lab = Lab::open(dir)?;
            let (args, up) = match link {
                LinkCommand::Down(args) => (args, false),
                LinkCommand::Up(args) => (args, true),
            };
            let nodes = args
                .nodes
                .iter()
                .map(|node| lab.resolve(node))
                .collect::<Result<Vec<_>, _>>()?;
            let reports = lab.set_link(args.link, &nodes, up, !args.wait.no_wait)?;
            render_table(&reports, out)?;
            Ok(EXIT_OK)
        }
        LabCommand::Heal(wait) => {
            let mut lab = Lab::open(dir)?;
            let reports = lab.heal(!wait.no_wait)?;
            render_table(&reports, out)?;
            Ok(EXIT_OK)
        }
        LabCommand::Stop(node) => {
            let mut lab = Lab::open(dir)?;
            let nodeid = lab.resolve(&node.node)?;
            let reports = lab.stop(nodeid, !node.wait.no_wait)?;
            render_table(&reports, out)?;
            Ok(EXIT_OK)
        }
        LabCommand::Start(node) => {
            let mut lab = Lab::open(dir)?;
            let nodeid = lab.resolve(&node.node)?;
            let reports = lab.start(nodeid, !node.wait.no_wait)?;
            render_table(&reports, out)?;
            Ok(EXIT_OK)
        }
        LabCommand::Replay(replay) => replay::run(dir, replay, out, err),
        LabCommand::Qnetd(command) => {
            let mut lab = Lab::open(dir)?;
            match command {
                QnetdCommand::Down => lab.qnetd_down()?,
                QnetdCommand::Up => lab.qnetd_up()?,
                QnetdCommand::Cut(nodes) | QnetdCommand::Reach(nodes) => {
                    let ids = nodes
                        .nodes
                        .iter()
                        .map(|node| lab.resolve(node))
                        .collect::<Result<Vec<_>, _>>()?;
                    lab.qnetd_reach(&ids, matches!(command, QnetdCommand::Reach(_)))?;
                }
            }
            for (name, text) in lab.qdevice_status()? {
                writeln!(out, "{name}:")?;
                for line in text.lines() {
                    writeln!(out, "  {line}")?;
                }
            }
            Ok(EXIT_OK)
        }
        LabCommand::Heuristics(command) => {
            let mut lab = Lab::open(dir)?;
            let (nodes, pass) = match command {
                HeuristicsCommand::Fail(nodes) => (nodes, false),
                HeuristicsCommand::Pass(nodes) => (nodes, true),
            };
            let ids = nodes
                .nodes
                .iter()
                .map(|node| lab.resolve(node))
                .collect::<Result<Vec<_>, _>>()?;
            lab.set_heuristics(&ids, pass)?;
            Ok(EXIT_OK)
        }
        LabCommand::Exec(exec) => {
            let lab = Lab::open(dir)?;
            let output = lab.exec(lab.resolve(&exec.node)?, &exec.command)?;
            out.write_all(&output.stdout)?;
            err.write_all(&output.stderr)?;
            // A command killed by a signal exits like a shell reports it: 128 + signal,
            // which std does not expose portably; 2 says "did not complete".
            Ok(output
                .status
                .code()
                .map_or(EXIT_ERROR, |code| code.clamp(0, 255) as u8))
        }
    }
}

/// The JSON document of `lab status`.
#[derive(Serialize)]
struct StatusJson<'a> {
    lab: &'a str,
    dir: String,
    via: &'a str,
    nodes: Vec<NodeJson>,
}

/// One node in the JSON document of `lab status`.
#[derive(Serialize)]
struct NodeJson {
    name: String,
    nodeid: u32,
    address: String,
    corosync: &'static str,
    quorate: Option<bool>,
    members: Option<Vec<u32>>,
    total_votes: Option<u32>,
    expected_votes: Option<u32>,
    quorum: Option<u32>,
    flags: Option<Vec<String>>,
    ring_id: Option<String>,
    error: Option<String>,
}

impl From<&NodeReport> for NodeJson {
    fn from(report: &NodeReport) -> NodeJson {
        let quorum = report.corosync.quorum();
        NodeJson {
            name: report.name.clone(),
            nodeid: report.nodeid,
            address: report.address.clone(),
            corosync: match report.corosync {
                Corosync::Running { .. } => "running",
                Corosync::Stopped { .. } => "stopped",
                Corosync::Unknown { .. } => "unknown",
                _ => "unknown",
            },
            quorate: quorum.map(|q| q.quorate),
            members: quorum.map(|q| q.member_ids()),
            total_votes: quorum.map(|q| q.total_votes),
            expected_votes: quorum.map(|q| q.expected_votes),
            quorum: quorum.map(|q| q.quorum),
            flags: quorum.map(|q| q.flags.clone()),
            ring_id: quorum.map(|q| q.ring_id.clone()),
            error: match &report.corosync {
                Corosync::Unknown { error } => Some(error.clone()),
                _ => None,
            },
        }
    }
}

/// Renders node reports as an aligned table.
fn render_table(reports: &[NodeReport], out: &mut dyn Write) -> std::io::Result<()> {
    let header = [
        "NODE", "ID", "ADDRESS", "COROSYNC", "QUORATE", "MEMBERS", "VOTES", "EXPECTED", "QUORUM",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    let mut notes = Vec::new();
    for report in reports {
        let mut row = vec![
            report.name.clone(),
            report.nodeid.to_string(),
            report.address.clone(),
        ];
        match &report.corosync {
            Corosync::Running { quorum } => {
                let members: Vec<String> = quorum.member_ids().iter().map(u32::to_string).collect();
                row.extend([
                    "running".to_string(),
                    if quorum.quorate { "yes" } else { "no" }.to_string(),
                    members.join(","),
                    quorum.total_votes.to_string(),
                    quorum.expected_votes.to_string(),
                    quorum.quorum.to_string(),
                ]);
            }
            Corosync::Stopped { .. } => row.extend(["stopped", "-", "-", "-", "-", "-"].map(String::from)),
            Corosync::Unknown { error } => {
                row.extend(["unknown", "-", "-", "-", "-", "-"].map(String::from));
                notes.push(format!("{}: {error}", report.name));
            }
            _ => row.extend(["unknown", "-", "-", "-", "-", "-"].map(String::from)),
        }
        rows.push(row);
    }
    for line in crate::render::plain_columns(&rows) {
        writeln!(out, "{line}")?;
    }
    for note in notes {
        writeln!(out, "  {note}")?;
    }
    Ok(())
}
