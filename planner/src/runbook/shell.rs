//! A small POSIX-shell splitter for runbook code blocks: comments, quotes, line
//! continuations, heredocs, and the separators `&&`, `||`, `;` and `|`.
//!
//! It splits text into commands with the byte offset of each; it must not run or expand
//! anything (`$VAR` and `$(...)` stay as written inside their word).

/// One item of a shell block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// A `#` comment (its text without the `#`) at a byte offset of the block.
    Comment { text: String, offset: usize },
    /// A simple command.
    Command(Command),
}

/// One simple command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Command {
    /// Byte offset of its first word in the block.
    pub offset: usize,
    /// Byte offset just past its last character in the block.
    pub end: usize,
    /// The words, quotes removed.
    pub words: Vec<String>,
    /// Output redirections (`>`/`>>` targets).
    pub redirects: Vec<String>,
    /// Input redirections (`<` sources).
    pub inputs: Vec<String>,
    /// A heredoc's body and the byte offset of its first line.
    pub heredoc: Option<(String, usize)>,
    /// Its output goes into a pipe.
    pub piped: bool,
    /// It comes after `|` (reads the previous command's output).
    pub after_pipe: bool,
}

/// Splits `text` into comments and commands.
#[allow(unused_assignments)]
pub(crate) fn split(text: &str) -> Vec<Item> {
    let bytes = text.as_bytes();
    let mut items = Vec::new();
    let mut position = 0;
    let mut current = Command::default();
    let mut word = String::new();
    let mut in_word = false;
    let mut pending_redirect: Option<u8> = None;
    let mut pending_heredocs: Vec<(String, bool)> = Vec::new();
    let mut heredoc_commands: Vec<usize> = Vec::new();
    let mut after_pipe = false;
    let mut word_begin = 0usize;

    macro_rules! end_word {
        () => {
            if in_word {
                match pending_redirect.take() {
                    Some(b'>') => current.redirects.push(std::mem::take(&mut word)),
                    Some(b'<') => current.inputs.push(std::mem::take(&mut word)),
                    Some(_) => {
                        let quoted = word.contains('\u{1}');
                        let delimiter = word.replace('\u{1}', "");
                        pending_heredocs.push((delimiter, quoted));
                        word.clear();
                    }
                    None => {
                        if current.words.is_empty() {
                            current.offset = word_begin;
                        }
                        current
                            .words
                            .push(std::mem::take(&mut word).replace('\u{1}', ""));
                    }
                }
                in_word = false;
            }
        };
    }
    macro_rules! end_command {
        ($piped:expr) => {
            end_word!();
            if !current.words.is_empty() || !current.redirects.is_empty() {
                current.end = position;
                current.piped = $piped;
                current.after_pipe = after_pipe;
                if !pending_heredocs.is_empty() {
                    heredoc_commands.push(items.len());
                }
                items.push(Item::Command(std::mem::take(&mut current)));
            } else {
                current = Command::default();
            }
            after_pipe = $piped;
        };
    }

    while position < bytes.len() {
        let byte = bytes[position];
        match byte {
            b'#' if !in_word => {
                let line_end = text[position..].find('\n').map_or(text.len(), |n| position + n);
                end_command!(false);
                items.push(Item::Comment {
                    text: text[position + 1..line_end].trim().to_string(),
                    offset: position,
                });
                position = line_end;
                continue;
            }
            b'\\' if bytes.get(position + 1) == Some(&b'\n') => {
                end_word!();
                position += 2;
                continue;
            }
            b'\\' => {
                if let Some(next) = text[position + 1..].chars().next() {
                    if !in_word {
                        word_begin = position;
                    }
                    in_word = true;
                    word.push(next);
                    position += 1 + next.len_utf8();
                } else {
                    position += 1;
                }
                continue;
            }
            b'\'' | b'"' => {
                let close = text[position + 1..]
                    .find(byte as char)
                    .map_or(text.len(), |n| position + 1 + n);
                if !in_word {
                    word_begin = position;
                }
                in_word = true;
                word.push('\u{1}');
                word.push_str(&text[position + 1..close]);
                position = (close + 1).min(text.len());
                continue;
            }
            b'$' if bytes.get(position + 1) == Some(&b'(') => {
                let mut depth = 0usize;
                let mut end = position + 1;
                while end < bytes.len() {
                    match bytes[end] {
                        b'(' => depth += 1,
                        b')' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    end += 1;
                }
                let end = (end + 1).min(text.len());
                if !in_word {
                    word_begin = position;
                }
                in_word = true;
                word.push_str(&text[position..end]);
                position = end;
                continue;
            }
            b'\n' => {
                end_command!(false);
                position += 1;
                for (delimiter, _quoted) in std::mem::take(&mut pending_heredocs) {
                    let body_start = position;
                    let mut body_end = text.len();
                    let mut next = text.len();
                    let mut line_start = position;
                    while line_start < text.len() {
                        let line_end = text[line_start..]
                            .find('\n')
                            .map_or(text.len(), |n| line_start + n);
                        if text[line_start..line_end].trim() == delimiter {
                            body_end = line_start;
                            next = (line_end + 1).min(text.len());
                            break;
                        }
                        line_start = line_end + 1;
                    }
                    if let Some(Item::Command(command)) =
                        heredoc_commands.first().and_then(|index| items.get_mut(*index))
                    {
                        command.heredoc = Some((text[body_start..body_end].to_string(), body_start));
                    }
                    if !heredoc_commands.is_empty() {
                        heredoc_commands.remove(0);
                    }
                    position = next;
                }
                heredoc_commands.clear();
                continue;
            }
            b';' => {
                end_command!(false);
            }
            b'&' if bytes.get(position + 1) == Some(&b'&') => {
                end_command!(false);
                position += 2;
                continue;
            }
            b'|' if bytes.get(position + 1) == Some(&b'|') => {
                end_command!(false);
                position += 2;
                continue;
            }
            b'|' => {
                end_command!(true);
            }
            b'&' => {
                end_command!(false);
            }
            b'>' | b'<' if !in_word || word.chars().all(|c| c.is_ascii_digit()) => {
                if in_word {
                    word.clear();
                    in_word = false;
                }
                if byte == b'<' && bytes.get(position + 1) == Some(&b'<') {
                    pending_redirect = Some(b'h');
                    position += 2;
                    if bytes.get(position) == Some(&b'-') {
                        position += 1;
                    }
                    continue;
                }
                if byte == b'<' && bytes.get(position + 1) == Some(&b'(') {
                    // Process substitution: keep it as a word.
                    let close = text[position..]
                        .find(')')
                        .map_or(text.len(), |n| position + n + 1);
                    word_begin = position;
                    word.push_str(&text[position..close]);
                    in_word = true;
                    position = close;
                    continue;
                }
                pending_redirect = Some(byte);
                position += 1;
                while bytes.get(position) == Some(&b'>') || bytes.get(position) == Some(&b'&') {
                    position += 1;
                }
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                end_word!();
            }
            _ => {
                let Some(character) = text[position..].chars().next() else {
                    break;
                };
                if !in_word {
                    word_begin = position;
                }
                in_word = true;
                word.push(character);
                position += character.len_utf8();
                continue;
            }
        }
        position += 1;
    }
    end_command!(false);
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(text: &str) -> Vec<Vec<String>> {
        split(text)
            .into_iter()
            .filter_map(|item| match item {
                Item::Command(command) => Some(command.words),
                Item::Comment { .. } => None,
            })
            .collect()
    }

    #[test]
    fn separators_quotes_and_continuations() {
        assert_eq!(
            commands("a b && c 'd e' ; f \"g h\" || i\nj \\\n  k # x\n"),
            vec![
                vec!["a", "b"],
                vec!["c", "d e"],
                vec!["f", "g h"],
                vec!["i"],
                vec!["j", "k"]
            ]
        );
    }

    #[test]
    fn heredoc_body_belongs_to_its_command() {
        let text = "cat > /tmp/x << 'EOF'\nline1 # not a comment\nEOF\nnext\n";
        let items = split(text);
        let Item::Command(first) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(first.redirects, vec!["/tmp/x"]);
        let (body, offset) = first.heredoc.clone().unwrap_or_default();
        assert_eq!(body, "line1 # not a comment\n");
        assert_eq!(&text[offset..offset + 5], "line1");
        assert_eq!(commands(text), vec![vec!["cat"], vec!["next"]]);
    }

    #[test]
    fn pipes_and_substitutions() {
        let items = split("X=$(grep a b | awk '{print $2}')\nping -c 1 h | grep loss\n");
        let words: Vec<_> = items
            .iter()
            .filter_map(|item| {
                if let Item::Command(c) = item {
                    Some((c.words.clone(), c.piped))
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(words[0].0, vec!["X=$(grep a b | awk '{print $2}')"]);
        assert_eq!(
            words[1],
            (vec!["ping".into(), "-c".into(), "1".into(), "h".into()], true)
        );
        let Item::Command(first) = &items[0] else { panic!() };
        assert_eq!(first.offset, 0);
    }
}
