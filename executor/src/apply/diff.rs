//! A line diff for apply's refusals: what a node's file holds against what the plan expects.
//!
//! Owns `line_diff` (longest common subsequence over lines; `-` expected, `+` on the node,
//! unchanged lines only as context around changes). Files are corosync.confs, small enough
//! for the quadratic table. It must not read files.

/// The lines of `expected` and `actual` that differ, with up to `context` unchanged lines
/// around each change, `-` for lines only in `expected`, `+` for lines only in `actual`.
pub fn line_diff(expected: &str, actual: &str, context: usize) -> Vec<String> {
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut lines: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push((' ', old[i]));
            i += 1;
            j += 1;
        } else if i < old.len() && (j == new.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            lines.push(('-', old[i]));
            i += 1;
        } else {
            lines.push(('+', new[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, (mark, _))| *mark != ' ')
        .map(|(index, _)| index)
        .collect();
    let keep = |index: usize| {
        changed
            .iter()
            .any(|changed| index + context >= *changed && index <= changed + context)
    };
    let mut out = Vec::new();
    let mut skipped = false;
    for (index, (mark, text)) in lines.iter().enumerate() {
        if keep(index) {
            if skipped && !out.is_empty() {
                out.push("...".to_string());
            }
            skipped = false;
            out.push(format!("{mark} {text}"));
        } else {
            skipped = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_changed_lines_with_context() {
        let expected = "a\nb\nc\nd\ne\nf\ng\n";
        let actual = "a\nb\nc\nD\ne\nf\ng\nh\n";
        assert_eq!(
            line_diff(expected, actual, 1),
            vec!["  c", "- d", "+ D", "  e", "...", "  g", "+ h"]
        );
        assert!(line_diff(expected, expected, 2).is_empty());
    }
}
