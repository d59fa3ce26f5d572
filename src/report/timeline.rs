//! The timeline picture of one whatif step: a time axis, one lane per node, each event of
//! `whatif --timeline` (sim::timing) as a marker on its node's lane with its label above.
//!
//! Owns the time scale, the label placement and the drawing. It reads the step's JSON
//! (`timeline` and `nodes` as `quorate whatif -s SCRIPT --timeline --format json` prints
//! them) and must not time anything itself: every time drawn is an `at_ms`,
//! `earliest_ms` or `latest_ms` the timing model returned.

use super::html::escape;
use super::layout::{LabelBox, CHAR_WIDTH, LINE_HEIGHT, PADDING};
use serde_json::Value;
use std::fmt::Write;

/// Width of the time axis in SVG units.
pub const AXIS_WIDTH: f64 = 640.0;
/// The log scale's knee: times well below this are spread linearly, above it by decade.
const KNEE_MS: f64 = 100.0;
/// Height of a lane's own strip (the line, its markers and range bars).
const LANE_STRIP: f64 = 18.0;
/// Space kept between two labels of one row.
const LABEL_GAP: f64 = 6.0;
/// Height of the axis strip at the bottom (ticks, their labels and the legend).
const AXIS_STRIP: f64 = 40.0;
/// The legend under the axis.
const LEGEND: &str = "time after the step's fault (log scale); filled: from corosync/Proxmox timers, hollow ~: estimate; bar: range";

/// The events of one node at one time, drawn as one marker and one label.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    /// The node's lane (index into [`TimelineLayout::lanes`]).
    pub lane: usize,
    /// The events' time (ms after the step's fault).
    pub at_ms: u64,
    /// The earliest and latest of the events' ranges, where the model gives one.
    pub range: Option<(u64, u64)>,
    /// Some event is an estimate (not all of its time comes from a timer).
    pub estimate: bool,
    /// The label text: the events' names and the time.
    pub label: String,
    /// The tooltip: each event's basis and assumption.
    pub detail: String,
    /// Where the label sits.
    pub label_box: LabelBox,
    /// The marker's x.
    pub x: f64,
}

/// One node's lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    /// The node's name.
    pub name: String,
    /// The node id.
    pub nodeid: u64,
    /// Top of the lane (its highest label row).
    pub top: f64,
    /// y of the lane's line.
    pub line_y: f64,
}

/// The placed picture of one step's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineLayout {
    /// One lane per node of the step, in the step's node order.
    pub lanes: Vec<Lane>,
    /// The markers with their labels.
    pub marks: Vec<Mark>,
    /// Left edge of the axis (after the lane names).
    pub axis_x: f64,
    /// The latest time drawn (the axis' right end).
    pub max_ms: u64,
    /// Canvas width.
    pub width: f64,
    /// Canvas height.
    pub height: f64,
}

/// A readable time: `50 ms`, `3.65 s`, `120 s`.
pub fn format_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        let text = format!("{:.2}", ms as f64 / 1000.0);
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("{text} s")
    }
}

/// The words for an event kind of sim::timing (its JSON name when it is a new kind).
fn event_words(event: &str) -> &str {
    match event {
        "link_down" => "link down",
        "failure_detected" => "failure detected",
        "membership" => "new membership",
        "quorum" => "quorum decided",
        "lms_window" => "LMS window ends",
        "pve_readonly" => "/etc/pve read-only",
        "self_fence" => "self-fence",
        "ha_recovery" => "HA recovery",
        other => other,
    }
}

/// x of `ms` on an axis starting at `axis_x`: log scale above [`KNEE_MS`], so that the
/// first milliseconds (membership) and the last minutes (Proxmox HA) are both readable.
fn scale(ms: u64, max_ms: u64, axis_x: f64) -> f64 {
    let span = (1.0 + max_ms.max(1) as f64 / KNEE_MS).ln();
    axis_x + AXIS_WIDTH * (1.0 + ms as f64 / KNEE_MS).ln() / span
}

fn label_width(label: &str) -> f64 {
    label.chars().count() as f64 * CHAR_WIDTH + 2.0
}

/// Places the labels of one lane in rows above its line. The marks are taken latest
/// first; each goes to the lowest row where its box (starting at its marker) meets no box
/// of that row and covers no marker of a label in a higher row, whose leader line would
/// otherwise cross it. Later marks start further right, so a leader never crosses a label
/// in a lower row. Returns each mark's row and the number of rows.
fn place_rows(starts: &[(f64, f64)]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..starts.len()).collect();
    order.sort_by(|a, b| starts[*b].0.total_cmp(&starts[*a].0));
    let mut rows = vec![0usize; starts.len()];
    let mut placed: Vec<usize> = Vec::new();
    for index in order {
        let (x, width) = starts[index];
        let mut row = 0;
        while placed.iter().any(|other| {
            let (other_x, other_width) = starts[*other];
            let other_row = rows[*other];
            (other_row == row && x < other_x + other_width + LABEL_GAP && other_x < x + width + LABEL_GAP)
                || (other_row > row && other_x >= x && other_x <= x + width + LABEL_GAP)
        }) {
            row += 1;
        }
        rows[index] = row;
        placed.push(index);
    }
    let count = rows.iter().max().map_or(0, |row| row + 1);
    (rows, count)
}

/// Lays out the timeline of `step` (a step of `whatif --timeline --format json`).
pub fn timeline_layout(step: &Value) -> TimelineLayout {
    let rows_json = step
        .get("nodes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let node_names: Vec<(u64, String)> = rows_json
        .iter()
        .map(|row| {
            (
                row.get("nodeid").and_then(Value::as_u64).unwrap_or(0),
                row.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            )
        })
        .collect();
    let events = step
        .get("timeline")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let max_ms = events
        .iter()
        .flat_map(|event| {
            ["at_ms", "latest_ms"]
                .into_iter()
                .filter_map(|key| event.get(key).and_then(Value::as_u64))
        })
        .max()
        .unwrap_or(0)
        .max(1000);
    let name_width = node_names
        .iter()
        .map(|(nodeid, name)| format!("{name} ({nodeid})").chars().count())
        .max()
        .unwrap_or(4) as f64
        * CHAR_WIDTH;
    let axis_x = PADDING + name_width + 2.0 * PADDING;
    // Group the events of one node at one time into one mark.
    let mut grouped: std::collections::BTreeMap<(usize, u64), Vec<&Value>> = Default::default();
    for event in &events {
        let nodeid = event.get("node").and_then(Value::as_u64).unwrap_or(0);
        let Some(lane) = node_names.iter().position(|(id, _)| *id == nodeid) else {
            continue;
        };
        let at_ms = event.get("at_ms").and_then(Value::as_u64).unwrap_or(0);
        grouped.entry((lane, at_ms)).or_default().push(event);
    }
    let mut marks: Vec<Mark> = grouped
        .into_iter()
        .map(|((lane, at_ms), group)| {
            let estimate = group
                .iter()
                .any(|event| event.get("estimate").and_then(Value::as_bool).unwrap_or(false));
            let earliest = group
                .iter()
                .filter_map(|event| event.get("earliest_ms").and_then(Value::as_u64))
                .min();
            let latest = group
                .iter()
                .filter_map(|event| event.get("latest_ms").and_then(Value::as_u64))
                .max();
            let range = match (earliest, latest) {
                (None, None) => None,
                (earliest, latest) => Some((earliest.unwrap_or(at_ms), latest.unwrap_or(at_ms))),
            };
            let words: Vec<&str> = group
                .iter()
                .map(|event| event_words(event.get("event").and_then(Value::as_str).unwrap_or("")))
                .collect();
            let label = format!(
                "{}{} {}",
                if estimate { "~" } else { "" },
                words.join(", "),
                format_ms(at_ms)
            );
            let detail = group
                .iter()
                .map(|event| {
                    let mut line = format!(
                        "{}: {}",
                        event.get("event").and_then(Value::as_str).unwrap_or(""),
                        event.get("basis").and_then(Value::as_str).unwrap_or("")
                    );
                    if let Some(assumes) = event.get("assumes").and_then(Value::as_str) {
                        let _ = write!(line, " (assumes: {assumes})");
                    }
                    line
                })
                .collect::<Vec<_>>()
                .join("\n");
            let x = scale(at_ms, max_ms, axis_x);
            Mark {
                lane,
                at_ms,
                range,
                estimate,
                label_box: LabelBox {
                    x,
                    y: 0.0,
                    width: label_width(&label),
                    height: LINE_HEIGHT,
                },
                label,
                detail,
                x,
            }
        })
        .collect();
    let mut lanes = Vec::new();
    let mut y = PADDING;
    for (lane_index, (nodeid, name)) in node_names.iter().enumerate() {
        let in_lane: Vec<usize> = (0..marks.len())
            .filter(|index| marks[*index].lane == lane_index)
            .collect();
        let starts: Vec<(f64, f64)> = in_lane
            .iter()
            .map(|index| (marks[*index].label_box.x, marks[*index].label_box.width))
            .collect();
        let (rows, row_count) = place_rows(&starts);
        let top = y;
        let line_y = top + row_count as f64 * LINE_HEIGHT + LANE_STRIP / 2.0;
        for (index, row) in in_lane.iter().zip(rows) {
            marks[*index].label_box.y = line_y - LANE_STRIP / 2.0 - (row as f64 + 1.0) * LINE_HEIGHT;
        }
        lanes.push(Lane {
            name: name.clone(),
            nodeid: *nodeid,
            top,
            line_y,
        });
        y = line_y + LANE_STRIP / 2.0 + PADDING;
    }
    let right = marks
        .iter()
        .map(|mark| mark.label_box.x + mark.label_box.width)
        .fold(axis_x + AXIS_WIDTH + 4.0 * CHAR_WIDTH, f64::max)
        .max(axis_x + LEGEND.chars().count() as f64 * CHAR_WIDTH);
    TimelineLayout {
        lanes,
        marks,
        axis_x,
        max_ms,
        width: right + PADDING,
        height: y + AXIS_STRIP,
    }
}

/// The ticks of an axis up to `max_ms`: 0, then each decade from 100 ms, then the end.
fn ticks(max_ms: u64) -> Vec<u64> {
    let mut ticks = vec![0];
    let mut tick = 100;
    while tick < max_ms {
        // A decade too close to the end would print over the end's label.
        if (tick as f64) < max_ms as f64 * 0.7 {
            ticks.push(tick);
        }
        tick *= 10;
    }
    ticks.push(max_ms);
    ticks
}

/// The timeline picture of `step`, or `None` when the step has no events (no fault:
/// `wait`, `show`, `install`, or a change nobody notices).
pub fn timeline(step: &Value) -> Option<String> {
    let layout = timeline_layout(step);
    if layout.marks.is_empty() {
        return None;
    }
    let mut body = String::new();
    let axis_end = layout.axis_x + AXIS_WIDTH;
    for (index, lane) in layout.lanes.iter().enumerate() {
        if index % 2 == 1 {
            let _ = write!(
                body,
                r##"<rect x="0" y="{:.1}" width="{:.1}" height="{:.1}" fill="#f6f6f6"/>"##,
                lane.top - PADDING / 2.0,
                layout.width,
                lane.line_y + LANE_STRIP / 2.0 - lane.top + PADDING
            );
        }
        let _ = write!(
            body,
            r##"<text x="{:.1}" y="{:.1}" font-weight="bold">{} ({})</text><line x1="{:.1}" y1="{y:.1}" x2="{axis_end:.1}" y2="{y:.1}" stroke="#888"/>"##,
            PADDING,
            lane.line_y + 4.0,
            escape(&lane.name),
            lane.nodeid,
            layout.axis_x,
            y = lane.line_y
        );
    }
    for mark in &layout.marks {
        let line_y = layout.lanes[mark.lane].line_y;
        if let Some((earliest, latest)) = mark.range {
            let _ = write!(
                body,
                r##"<line x1="{:.1}" y1="{line_y:.1}" x2="{:.1}" y2="{line_y:.1}" stroke="#d62728" stroke-width="6" stroke-opacity="0.35"><title>from {} to {}</title></line>"##,
                scale(earliest, layout.max_ms, layout.axis_x),
                scale(latest, layout.max_ms, layout.axis_x),
                format_ms(earliest),
                format_ms(latest)
            );
        }
        let label_bottom = mark.label_box.y + mark.label_box.height;
        let _ = write!(
            body,
            r##"<g class="event"><title>{detail}</title><line x1="{x:.1}" y1="{label_bottom:.1}" x2="{x:.1}" y2="{line_y:.1}" stroke="#bbb"/><circle cx="{x:.1}" cy="{line_y:.1}" r="4" fill="{fill}" stroke="#d62728" stroke-width="1.5"/><text x="{text_x:.1}" y="{text_y:.1}">{label}</text></g>"##,
            detail = escape(&mark.detail),
            x = mark.x,
            fill = if mark.estimate { "#ffffff" } else { "#d62728" },
            text_x = mark.label_box.x + 1.0,
            text_y = label_bottom - 4.0,
            label = escape(&mark.label)
        );
    }
    let axis_y = layout.height - AXIS_STRIP + 6.0;
    let _ = write!(
        body,
        r##"<line x1="{:.1}" y1="{axis_y:.1}" x2="{axis_end:.1}" y2="{axis_y:.1}" stroke="#333"/>"##,
        layout.axis_x
    );
    for tick in ticks(layout.max_ms) {
        let x = scale(tick, layout.max_ms, layout.axis_x);
        let _ = write!(
            body,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            axis_y,
            axis_y + 5.0,
            axis_y + 18.0,
            format_ms(tick)
        );
    }
    let _ = write!(
        body,
        r##"<text x="{:.1}" y="{:.1}" fill="#555">{}</text>"##,
        layout.axis_x,
        axis_y + 32.0,
        escape(LEGEND)
    );
    Some(format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="monospace" font-size="12" role="img" aria-label="timeline">{body}</svg>"#,
        w = layout.width,
        h = layout.height
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_ms_or_seconds() {
        assert_eq!(format_ms(0), "0 ms");
        assert_eq!(format_ms(50), "50 ms");
        assert_eq!(format_ms(3650), "3.65 s");
        assert_eq!(format_ms(120_000), "120 s");
        assert_eq!(format_ms(8030), "8.03 s");
    }

    #[test]
    fn rows_keep_labels_and_leaders_apart() {
        // Three labels starting close together: none may share a row with an overlap, and
        // no label may cover the marker of a label in a higher row.
        let starts = [(10.0, 100.0), (20.0, 100.0), (300.0, 50.0), (305.0, 50.0)];
        let (rows, count) = place_rows(&starts);
        assert!(count >= 2);
        for (a, (ax, aw)) in starts.iter().enumerate() {
            for (b, (bx, _)) in starts.iter().enumerate() {
                if a != b && rows[b] > rows[a] {
                    assert!(!(*bx >= *ax && *bx <= ax + aw), "{rows:?}");
                }
            }
        }
    }
}
