//! Adding, removing and keeping a quorum device (`quorum.device`, model net): what the plan
//! needs beyond the corosync file, and the commands of the qdevice steps.
//!
//! Owns `QdevicePlan` (the qnetd host, the cluster name the certificates carry, adding,
//! removing or keeping the device), its construction from the source and target files
//! (refusing what cannot be planned: a device other than model net, no `net.host`, no
//! `totem.cluster_name`; for a kept device, a changed host, algorithm or other
//! `net`/`heuristics` key, and a node new in the target), and the
//! commands of the certificate exchange, as `pvecm qdevice setup` and `pcs quorum device add`
//! run it (`corosync-qnetd-certutil -i` on the qnetd host, `corosync-qdevice-net-certutil -i`
//! with qnetd's CA on every node, `-r -n CLUSTER` on the first node, `-s` on the qnetd host,
//! `-M` on the first node, `-m` with its PKCS#12 file on the others), and of starting and
//! stopping corosync-qdevice. Files move with `copy-file` (apply's node-to-node transfer
//! through memory); nothing secret (the PKCS#12 file, private keys) is ever in the plan.
//! It must not decide order or safety (that is `state`, `search`, `safety`).

use crate::files::FileEntry;
use crate::Error;

/// The qnetd host's NSS database (corosync-qnetd-certutil).
pub(crate) const QNETD_DB: &str = "/etc/corosync/qnetd/nssdb";
/// A node's qdevice NSS database (corosync-qdevice-net-certutil).
pub(crate) const NODE_DB: &str = "/etc/corosync/qdevice/net/nssdb";

/// One step of the certificate exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertificateStep {
    /// The plan's action name.
    pub action: &'static str,
    /// The cluster nodes acting (none for the qnetd host's steps).
    pub nodes: Vec<String>,
    /// Per host (node or qnetd host), its commands.
    pub commands: Vec<(String, Vec<String>)>,
    /// Why, in words.
    pub why: String,
}

/// What a plan does with the quorum device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceChange {
    /// The target adds it: certificates, the file, corosync-qdevice started.
    Add,
    /// The target drops it: corosync-qdevice stopped, the file without it.
    Remove,
    /// Source and target have the same device: qnetd runs and every node's
    /// corosync-qdevice casts from the start; the plan keeps it so.
    Keep,
}

/// The quorum device a plan adds, removes or keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QdevicePlan {
    /// The qnetd host (`quorum.device.net.host`): commands run there under this name.
    pub host: String,
    /// `totem.cluster_name`: the name in the cluster's client certificate.
    pub cluster_name: String,
    /// What happens to the device.
    pub change: DeviceChange,
}

/// `net.host` of `entry`'s device, when it is model net.
fn device_host(entry: &FileEntry) -> Result<Option<String>, Error> {
    let device = &entry.config.quorum.device;
    let Some(device) = device.as_ref().filter(|device| device.is_configured()) else {
        return Ok(None);
    };
    let model = device
        .model
        .as_ref()
        .map(|model| model.value.clone())
        .unwrap_or_default();
    if model != "net" {
        return Err(Error::Unsupported {
            why: format!(
                "{}: quorum.device.model is `{model}`; only model net (corosync-qnetd) is planned",
                entry.name
            ),
        });
    }
    match device.net.get("host") {
        Some(host) if !host.value.trim().is_empty() => Ok(Some(host.value.trim().to_string())),
        _ => Err(Error::Unsupported {
            why: format!(
                "{}: quorum.device.net has no host: name the qnetd host (`host: ADDRESS`)",
                entry.name
            ),
        }),
    }
}

/// `Err` unless `target` keeps `source`'s device as corosync-qdevice runs it: the same
/// host and algorithm and the same other `net` and `heuristics` keys (a running
/// corosync-qdevice keeps the ones it started with: `pcs quorum device update` restarts
/// the daemons after its reload, and RHEL's guide says to remove and add the device for a
/// new host), the same `totem.cluster_name` (qnetd's cluster, the certificate's name), and no
/// node new in the target (it would need the cluster's client certificate and its own
/// corosync-qdevice). Keys votequorum re-reads at a reload (`votes`, `timeout`,
/// `sync_timeout`) may change.
fn check_kept(source: &FileEntry, target: &FileEntry) -> Result<(), Error> {
    let (Some(before), Some(after)) = (
        source.config.quorum.device.as_ref(),
        target.config.quorum.device.as_ref(),
    ) else {
        return Ok(());
    };
    let value = |keys: &std::collections::BTreeMap<String, model::config::Setting<String>>, key: &str| {
        keys.get(key).map(|setting| setting.value.trim().to_string())
    };
    let two_plans = "plan remove-qdevice, then add-qdevice with the new device, as two plans";
    let name = |entry: &FileEntry| {
        entry
            .config
            .totem
            .cluster_name
            .as_ref()
            .map(|name| name.value.trim().to_string())
    };
    if name(source) != name(target) {
        return Err(Error::Unsupported {
            why: format!(
                "totem.cluster_name changes from `{}` to `{}` in a cluster that keeps its quorum device: qnetd \
                 groups its clients by cluster name (and the client certificate carries it), so restarted nodes \
                 would be another cluster to qnetd; plan remove-qdevice, the rename, then add-qdevice, as three \
                 plans",
                name(source).unwrap_or_default(),
                name(target).unwrap_or_default()
            ),
        });
    }
    // An unset algorithm is ffsplit (corosync-qdevice's default).
    let net = |keys, key: &str| match value(keys, key) {
        None if key == "algorithm" => Some("ffsplit".to_string()),
        other => other,
    };
    for key in ["host", "algorithm"] {
        let (old, new) = (net(&before.net, key), net(&after.net, key));
        if old != new {
            let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "(unset)".to_string());
            return Err(Error::Unsupported {
                why: format!(
                    "quorum.device.net.{key} changes from `{}` to `{}`: another device (another qnetd, or qnetd \
                     deciding by another algorithm) is not planned in place: {two_plans}",
                    shown(&old),
                    shown(&new)
                ),
            });
        }
    }
    let mut changed: Vec<String> = Vec::new();
    for (section, old, new) in [
        ("net", &before.net, &after.net),
        ("heuristics", &before.heuristics, &after.heuristics),
    ] {
        let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for key in keys {
            let checked = section == "net" && (key == "host" || key == "algorithm");
            if !checked && value(old, key) != value(new, key) {
                changed.push(format!("quorum.device.{section}.{key}"));
            }
        }
    }
    if !changed.is_empty() {
        return Err(Error::Unsupported {
            why: format!(
                "{} change{}: a running corosync-qdevice keeps the net and heuristics settings \
                 it started with (`pcs quorum device update` restarts the daemons after its reload for that), and the \
                 planner does not restart them, so this is not planned in place: {two_plans}",
                changed.join(", "),
                if changed.len() == 1 { "s" } else { "" }
            ),
        });
    }
    let new_nodes: Vec<String> = target
        .nodeids
        .iter()
        .filter(|nodeid| !source.lists(**nodeid))
        .map(|nodeid| {
            target
                .node_name(*nodeid)
                .map_or_else(|| nodeid.to_string(), ToString::to_string)
        })
        .collect();
    if !new_nodes.is_empty() {
        return Err(Error::Unsupported {
            why: format!(
                "{} join{} a cluster that keeps its quorum device: a new node needs the cluster's qdevice client \
                 certificate and its own corosync-qdevice, which is not planned; plan remove-qdevice, the new node, \
                 then add-qdevice, as three plans",
                new_nodes.join(", "),
                if new_nodes.len() == 1 { "s" } else { "" }
            ),
        });
    }
    Ok(())
}

impl QdevicePlan {
    /// The device plan from `source` to `target`: adding, removing or keeping a model net
    /// device (`None`: neither file has one, or there is no source).
    pub fn new(source: Option<&FileEntry>, target: &FileEntry) -> Result<Option<QdevicePlan>, Error> {
        let Some(source) = source else {
            return Ok(None);
        };
        let before = device_host(source)?;
        let after = device_host(target)?;
        let (host, change, entry) = match (before, after) {
            (None, Some(host)) => (host, DeviceChange::Add, target),
            (Some(host), None) => (host, DeviceChange::Remove, source),
            (Some(host), Some(_)) => {
                check_kept(source, target)?;
                (host, DeviceChange::Keep, source)
            }
            (None, None) => return Ok(None),
        };
        let cluster_name = entry
            .config
            .totem
            .cluster_name
            .as_ref()
            .map(|name| name.value.trim().to_string())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| Error::Unsupported {
                why: format!(
                    "{}: totem.cluster_name is not set; the qdevice certificates carry the cluster name \
                     (corosync-qdevice-net-certutil -n): set it first",
                    entry.name
                ),
            })?;
        if cluster_name.contains(char::is_whitespace) || cluster_name.contains('/') {
            return Err(Error::Unsupported {
                why: format!(
                    "{}: cluster_name `{cluster_name}` holds a space or a slash, which the certificate file \
                     names cannot carry",
                    entry.name
                ),
            });
        }
        Ok(Some(QdevicePlan {
            host,
            cluster_name,
            change,
        }))
    }

    /// The target adds the device.
    pub fn adding(&self) -> bool {
        self.change == DeviceChange::Add
    }

    /// The target drops the device.
    pub fn removing(&self) -> bool {
        self.change == DeviceChange::Remove
    }

    /// Source and target keep the same device.
    pub fn kept(&self) -> bool {
        self.change == DeviceChange::Keep
    }

    /// The certificate request's path on the qnetd host.
    fn request_on_qnetd(&self) -> String {
        format!("/etc/corosync/qnetd/qdevice-net-node-{}.crq", self.cluster_name)
    }

    /// The cluster certificate qnetd signs.
    fn signed(&self) -> String {
        format!("cluster-{}.crt", self.cluster_name)
    }

    /// The certificate exchange, in order: `first` is the node whose request qnetd signs,
    /// `others` the rest.
    pub fn certificate_steps(&self, first: &str, others: &[String]) -> Vec<CertificateStep> {
        let host = self.host.clone();
        let name = &self.cluster_name;
        let all: Vec<String> = std::iter::once(first.to_string())
            .chain(others.iter().cloned())
            .collect();
        let ca = format!("{QNETD_DB}/qnetd-cacert.crt");
        let node_ca = "/etc/corosync/qnetd-cacert.crt";
        let p12 = "/etc/corosync/qdevice-net-node.p12";
        let step = |action, nodes, commands, why: String| CertificateStep {
            action,
            nodes,
            commands,
            why,
        };
        vec![
            step(
                "qnetd_init",
                Vec::new(),
                vec![(
                    host.clone(),
                    vec![format!("unless-exists {ca} corosync-qnetd-certutil -i")],
                )],
                format!(
                    "{host} runs corosync-qnetd with its own CA (corosync-qnetd-certutil -i, skipped when its database \
                     exists: a qnetd host may serve other clusters)"
                ),
            ),
            step(
                "qdevice_ca",
                all.clone(),
                all.iter()
                    .map(|node| {
                        (
                            node.clone(),
                            vec![
                                format!("copy-file {node_ca} from:{host} mode:0644 source:{ca}"),
                                format!("rm -rf {NODE_DB}"),
                                format!("corosync-qdevice-net-certutil -i -c {node_ca}"),
                            ],
                        )
                    })
                    .collect(),
                "every node's qdevice trusts qnetd's CA (a fresh NSS database, as `pvecm qdevice setup --force` \
                 makes it); nothing reads it until corosync-qdevice starts"
                    .to_string(),
            ),
            step(
                "qdevice_request",
                vec![first.to_string()],
                vec![(
                    first.to_string(),
                    vec![format!("corosync-qdevice-net-certutil -r -n {name}")],
                )],
                format!("{first} requests the cluster's client certificate for `{name}`"),
            ),
            step(
                "qnetd_sign",
                Vec::new(),
                vec![(
                    host.clone(),
                    vec![
                        format!(
                            "copy-file {} from:{first} mode:0644 source:{NODE_DB}/qdevice-net-node.crq",
                            self.request_on_qnetd()
                        ),
                        format!(
                            "corosync-qnetd-certutil -s -c {} -n {name}",
                            self.request_on_qnetd()
                        ),
                    ],
                )],
                format!("qnetd's CA signs the request for cluster `{name}`"),
            ),
            step(
                "qdevice_import",
                vec![first.to_string()],
                vec![(
                    first.to_string(),
                    vec![
                        format!(
                            "copy-file {NODE_DB}/{} from:{host} mode:0644 source:{QNETD_DB}/{}",
                            self.signed(),
                            self.signed()
                        ),
                        format!("corosync-qdevice-net-certutil -M -c {NODE_DB}/{}", self.signed()),
                    ],
                )],
                format!("{first} imports the signed certificate (its key stays in its NSS database)"),
            ),
            step(
                "qdevice_certificate",
                all.clone(),
                others
                    .iter()
                    .map(|node| {
                        (
                            node.clone(),
                            vec![
                                format!(
                                    "copy-file {p12} from:{first} mode:0600 source:{NODE_DB}/qdevice-net-node.p12"
                                ),
                                format!("corosync-qdevice-net-certutil -m -c {p12}"),
                                format!("rm -f {p12}"),
                            ],
                        )
                    })
                    .collect(),
                format!(
                    "the other nodes import {first}'s certificate and key (copied node to node through apply's memory, \
                     never printed; the copy is removed once imported)"
                ),
            ),
        ]
    }
}

/// The commands that start corosync-qdevice (enabled first, as pcs does).
pub(crate) fn start_commands() -> Vec<String> {
    vec![
        "systemctl enable corosync-qdevice".to_string(),
        "systemctl start corosync-qdevice".to_string(),
    ]
}

/// The commands that stop corosync-qdevice and keep it from starting at boot. Between the
/// two, `corosync-quorumtool -f` drops the node's device registration in votequorum: a
/// daemon that ends without unregistering (killed after the stop timeout, or stopped before
/// it installed its SIGTERM handler) leaves its node `NA,NV` with the `Qdevice` flag until
/// corosync restarts, even after the reload that drops `quorum.device` (seen on the 3.1.7
/// lab: kill -9 of corosync-qdevice, then `-f` clears it). With the daemon stopped nothing
/// registered is live, and `-f` with nothing registered exits 0 (also seen there).
pub(crate) fn stop_commands() -> Vec<String> {
    vec![
        "systemctl stop corosync-qdevice".to_string(),
        "corosync-quorumtool -f".to_string(),
        "systemctl disable corosync-qdevice".to_string(),
    ]
}
