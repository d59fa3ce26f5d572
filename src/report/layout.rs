//! Node placement for the topology picture: a circular layout whose radius grows with the
//! widest label box, so no two boxes overlap for any node count (2..32 and beyond).
//!
//! Owns geometry only (boxes in SVG user units); it must not draw or know corosync.

/// Width of one character of the 12px monospace label font, in SVG units (rounded up).
pub const CHAR_WIDTH: f64 = 7.5;
/// Height of one label line, in SVG units.
pub const LINE_HEIGHT: f64 = 15.0;
/// Inner padding of a label box on every side.
pub const PADDING: f64 = 6.0;
/// Free space kept between two neighbouring boxes.
pub const GAP: f64 = 12.0;

/// An axis-aligned box: top-left corner, width and height.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabelBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl LabelBox {
    /// The box's centre.
    pub fn centre(&self) -> (f64, f64) {
        (self.x + self.width / 2.0, self.y + self.height / 2.0)
    }

    /// Whether the two boxes share any interior point (touching edges do not overlap).
    pub fn overlaps(&self, other: &LabelBox) -> bool {
        self.x < other.x + other.width
            && other.x < self.x + self.width
            && self.y < other.y + other.height
            && other.y < self.y + self.height
    }
}

/// The size of a box holding `lines` of text, the longest `longest_chars` characters.
pub fn box_size(longest_chars: usize, lines: usize) -> (f64, f64) {
    (
        longest_chars as f64 * CHAR_WIDTH + 2.0 * PADDING,
        lines as f64 * LINE_HEIGHT + 2.0 * PADDING,
    )
}

/// A placed picture: one box per node (input order), the optional centre box, the canvas size.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// The node boxes, in the order of the sizes given.
    pub nodes: Vec<LabelBox>,
    /// The centre box (the quorum device host), when one was asked for.
    pub centre: Option<LabelBox>,
    /// Circle radius the node centres sit on.
    pub radius: f64,
    /// Canvas width.
    pub width: f64,
    /// Canvas height.
    pub height: f64,
}

/// Places boxes of the given sizes on a circle, first at the top, clockwise, and an optional
/// centre box. The radius makes the chord between neighbours at least the largest box
/// diagonal plus [`GAP`]: two axis-aligned boxes whose centres are further apart than their
/// diagonal cannot overlap, and non-neighbours are further apart than neighbours.
pub fn circular(sizes: &[(f64, f64)], centre: Option<(f64, f64)>) -> Layout {
    let diagonal = sizes
        .iter()
        .chain(centre.iter())
        .map(|(width, height)| (width * width + height * height).sqrt())
        .fold(0.0_f64, f64::max);
    let count = sizes.len();
    let mut radius = diagonal + GAP;
    if count >= 2 {
        let half_angle = std::f64::consts::PI / count as f64;
        radius = radius.max((diagonal + GAP) / (2.0 * half_angle.sin()));
    }
    let max_width = sizes.iter().map(|s| s.0).fold(0.0_f64, f64::max);
    let max_height = sizes.iter().map(|s| s.1).fold(0.0_f64, f64::max);
    let margin = 10.0;
    let width = 2.0 * radius + max_width + 2.0 * margin;
    let height = 2.0 * radius + max_height + 2.0 * margin;
    let (centre_x, centre_y) = (width / 2.0, height / 2.0);
    let nodes = sizes
        .iter()
        .enumerate()
        .map(|(index, (box_width, box_height))| {
            let angle =
                -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * index as f64 / count as f64;
            let x = centre_x + radius * angle.cos();
            let y = centre_y + radius * angle.sin();
            LabelBox {
                x: x - box_width / 2.0,
                y: y - box_height / 2.0,
                width: *box_width,
                height: *box_height,
            }
        })
        .collect();
    let centre = centre.map(|(box_width, box_height)| LabelBox {
        x: centre_x - box_width / 2.0,
        y: centre_y - box_height / 2.0,
        width: box_width,
        height: box_height,
    });
    Layout {
        nodes,
        centre,
        radius,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_to_thirty_two_boxes_never_overlap() {
        for count in 2..=32 {
            let sizes: Vec<_> = (0..count).map(|i| box_size(10 + i % 7 * 3, 3 + i % 8)).collect();
            let layout = circular(&sizes, Some(box_size(20, 2)));
            let mut all = layout.nodes.clone();
            all.extend(layout.centre);
            for (i, a) in all.iter().enumerate() {
                assert!(
                    a.x >= 0.0
                        && a.y >= 0.0
                        && a.x + a.width <= layout.width
                        && a.y + a.height <= layout.height
                );
                for b in &all[i + 1..] {
                    assert!(!a.overlaps(b), "{count} nodes: {a:?} overlaps {b:?}");
                }
            }
        }
    }
}
