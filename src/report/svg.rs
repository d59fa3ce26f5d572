//! Inline SVG pictures of the report: the topology (nodes on a circle, one colour per link,
//! the quorum device host in the centre) and the membership picture of one whatif step.
//!
//! Owns drawing only; every string placed in the SVG goes through [`html::escape`]. It must
//! not compute quorum: the pictures draw what `show` and `whatif` returned.

use super::html::escape;
use super::layout::{box_size, circular, LabelBox, LINE_HEIGHT, PADDING};
use super::Topology;
use serde_json::Value;
use std::fmt::Write;

/// One colour per corosync link number (link N uses entry N mod 8).
pub const LINK_COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
];

/// The colour of link `link`.
pub fn link_colour(link: u32) -> &'static str {
    LINK_COLOURS[link as usize % LINK_COLOURS.len()]
}

/// The text lines of one node's box: name, id and votes, one address per link.
fn node_lines(node: &super::TopologyNode) -> Vec<(String, Option<u32>)> {
    let id = node
        .nodeid
        .map_or_else(|| "no nodeid".to_string(), |id| format!("id {id}"));
    let mut lines = vec![
        (node.name.clone(), None),
        (format!("{id} · {} vote(s)", node.votes), None),
    ];
    lines.extend(
        node.addresses
            .iter()
            .map(|(link, address)| (format!("link {link}: {address}"), Some(*link))),
    );
    lines
}

/// The topology layout for `topology` (public so tests can assert on its boxes).
pub fn topology_layout(topology: &Topology) -> super::layout::Layout {
    let sizes: Vec<_> = topology
        .nodes
        .iter()
        .map(|node| {
            let lines = node_lines(node);
            box_size(
                lines
                    .iter()
                    .map(|(text, _)| text.chars().count())
                    .max()
                    .unwrap_or(1),
                lines.len(),
            )
        })
        .collect();
    let centre = topology
        .qnetd_host
        .as_ref()
        .map(|host| box_size(host.chars().count().max(12) + 7, 2));
    circular(&sizes, centre)
}

fn write_box(
    svg: &mut String,
    label_box: &LabelBox,
    fill: &str,
    stroke: &str,
    lines: &[(String, Option<u32>)],
) {
    let _ = write!(
        svg,
        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="5" fill="{fill}" stroke="{stroke}"/>"#,
        label_box.x, label_box.y, label_box.width, label_box.height
    );
    for (index, (text, link)) in lines.iter().enumerate() {
        let colour = link.map_or("#111", link_colour);
        let weight = if index == 0 { r#" font-weight="bold""# } else { "" };
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" fill="{colour}"{weight}>{}</text>"#,
            label_box.x + PADDING,
            label_box.y + PADDING + LINE_HEIGHT * (index as f64 + 1.0) - 4.0,
            escape(text)
        );
    }
}

/// The topology picture: every link a coloured ring through the nodes (offset per link so
/// rings stay apart), the qnetd host dashed to every node, the node boxes on top.
pub fn topology(topology: &Topology) -> String {
    let layout = topology_layout(topology);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="topology" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="monospace" font-size="12" role="img" aria-label="cluster topology">"#,
        w = layout.width,
        h = layout.height
    );
    let (centre_x, centre_y) = (layout.width / 2.0, layout.height / 2.0);
    if let Some(centre) = &layout.centre {
        for node_box in &layout.nodes {
            let (x, y) = node_box.centre();
            let _ = write!(
                svg,
                r##"<line x1="{centre_x:.1}" y1="{centre_y:.1}" x2="{x:.1}" y2="{y:.1}" stroke="#999" stroke-dasharray="4 3"/>"##
            );
        }
        let host = topology.qnetd_host.clone().unwrap_or_default();
        let model = topology.device_model.clone().unwrap_or_else(|| "net".to_string());
        write_box(
            &mut svg,
            centre,
            "#fff8e0",
            "#b08000",
            &[
                (format!("qnetd {host}"), None),
                (format!("qdevice model {model}"), None),
            ],
        );
    }
    for (index, link) in topology.links.iter().enumerate() {
        let radius = layout.radius + (index as f64 - (topology.links.len() as f64 - 1.0) / 2.0) * 4.0;
        let _ = write!(
            svg,
            r#"<circle cx="{centre_x:.1}" cy="{centre_y:.1}" r="{radius:.1}" fill="none" stroke="{}" stroke-width="2"><title>link {link}</title></circle>"#,
            link_colour(*link)
        );
    }
    for (node, node_box) in topology.nodes.iter().zip(&layout.nodes) {
        let _ = write!(svg, r#"<g class="node" data-node="{}">"#, escape(&node.name));
        write_box(&mut svg, node_box, "#ffffff", "#333", &node_lines(node));
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// How a node is drawn in a membership picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChipState {
    /// Running and quorate: green.
    Quorate,
    /// Running, not quorate: orange.
    NotQuorate,
    /// Not running: grey.
    Down,
}

/// One node of a membership picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Chip {
    /// The node's name.
    pub name: String,
    /// How it is drawn.
    pub state: ChipState,
    /// The tooltip (why it is or is not quorate), may be empty.
    pub tooltip: String,
}

/// A membership picture: one labelled group per membership, its nodes side by side.
pub fn groups_picture(groups: &[(String, Vec<Chip>)]) -> String {
    let chip_width = groups
        .iter()
        .flat_map(|(_, chips)| chips)
        .map(|chip| chip.name.chars().count())
        .max()
        .unwrap_or(4)
        .max("not quorate".len()) as f64
        * super::layout::CHAR_WIDTH
        + 2.0 * PADDING;
    let chip_height = 2.0 * LINE_HEIGHT + 2.0 * PADDING;
    let mut body = String::new();
    let mut x = 4.0;
    for (label, chips) in groups {
        let group_width = (chips.len() as f64 * (chip_width + 6.0) + 6.0)
            .max(label.chars().count() as f64 * super::layout::CHAR_WIDTH + 12.0);
        let _ = write!(
            body,
            r##"<rect x="{x:.1}" y="4" width="{group_width:.1}" height="{:.1}" rx="8" fill="#f4f4f4" stroke="#666"/><text x="{:.1}" y="18">{}</text>"##,
            chip_height + 28.0,
            x + 6.0,
            escape(label)
        );
        for (index, chip) in chips.iter().enumerate() {
            let (fill, state) = match chip.state {
                ChipState::Down => ("#d0d0d0", "down"),
                ChipState::Quorate => ("#b7e4b0", "quorate"),
                ChipState::NotQuorate => ("#f7c08a", "not quorate"),
            };
            let chip_x = x + 6.0 + index as f64 * (chip_width + 6.0);
            let _ = write!(
                body,
                r##"<rect x="{chip_x:.1}" y="26" width="{chip_width:.1}" height="{chip_height:.1}" rx="4" fill="{fill}" stroke="#333"><title>{}</title></rect><text x="{:.1}" y="{:.1}" font-weight="bold">{}</text><text x="{:.1}" y="{:.1}">{state}</text>"##,
                escape(&chip.tooltip),
                chip_x + PADDING,
                26.0 + PADDING + LINE_HEIGHT - 4.0,
                escape(&chip.name),
                chip_x + PADDING,
                26.0 + PADDING + 2.0 * LINE_HEIGHT - 4.0,
            );
        }
        x += group_width + 10.0;
    }
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="membership" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="monospace" font-size="12" role="img" aria-label="membership">{body}</svg>"#,
        w = x.max(10.0),
        h = chip_height + 36.0
    )
}

/// The membership picture of one whatif step: one group per membership (the nodes a
/// node's ring holds, within its network partition; a link failure splits a ring without a
/// partition), members side by side, quorate nodes green, non-quorate orange, stopped
/// nodes grey in their own group.
pub fn membership(step: &Value) -> String {
    let nodes = step
        .get("nodes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Key: (partition, ring members); stopped nodes last.
    type GroupKey = (i64, Vec<u64>);
    let mut groups: std::collections::BTreeMap<GroupKey, Vec<Chip>> = std::collections::BTreeMap::new();
    for node in &nodes {
        let up = node.get("up").and_then(Value::as_bool).unwrap_or(false);
        let quorate = node.get("quorate").and_then(Value::as_bool).unwrap_or(false);
        let key = if up {
            let mut members: Vec<u64> = node
                .get("members")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            members.sort_unstable();
            (
                node.get("partition").and_then(Value::as_i64).unwrap_or(0),
                members,
            )
        } else {
            (i64::MAX, Vec::new())
        };
        groups.entry(key).or_default().push(Chip {
            name: node.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            state: match (up, quorate) {
                (false, _) => ChipState::Down,
                (true, true) => ChipState::Quorate,
                (true, false) => ChipState::NotQuorate,
            },
            tooltip: node.get("why").and_then(Value::as_str).unwrap_or("").to_string(),
        });
    }
    let labelled: Vec<(String, Vec<Chip>)> = groups
        .into_iter()
        .map(|((partition, ring), chips)| {
            let label = if partition == i64::MAX {
                "stopped".to_string()
            } else {
                let ids: Vec<String> = ring.iter().map(u64::to_string).collect();
                format!("partition {partition} · ring {{{}}}", ids.join(","))
            };
            (label, chips)
        })
        .collect();
    groups_picture(&labelled)
}

/// The cluster picture of a plan's snapshot (`pre` or `post` of a step): one group per
/// membership of the running nodes, quorate ones green; the nodes of `all` that do not run
/// grey.
pub fn plan_snapshot(snapshot: &planner::Snapshot, all: &[String]) -> String {
    let mut groups: Vec<(String, Vec<Chip>)> = snapshot
        .members
        .iter()
        .enumerate()
        .map(|(index, members)| {
            let chips = members
                .iter()
                .map(|name| Chip {
                    name: name.clone(),
                    state: if snapshot.quorate.contains(name) {
                        ChipState::Quorate
                    } else {
                        ChipState::NotQuorate
                    },
                    tooltip: String::new(),
                })
                .collect();
            (format!("membership {}", index + 1), chips)
        })
        .collect();
    let stopped: Vec<Chip> = all
        .iter()
        .filter(|name| !snapshot.running.contains(name))
        .map(|name| Chip {
            name: name.clone(),
            state: ChipState::Down,
            tooltip: String::new(),
        })
        .collect();
    if !stopped.is_empty() {
        groups.push(("stopped".to_string(), stopped));
    }
    groups_picture(&groups)
}
