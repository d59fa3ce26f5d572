//! The Markdown side of `quorate runbook`: headings, prose and fenced blocks, with their
//! byte offsets in the runbook, read by pulldown-cmark (`into_offset_iter`).
//!
//! It must not interpret shell or corosync.conf text (that is `shell` and the checker).

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};

/// One piece of the runbook, in document order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Block {
    /// A heading: its level (1-6) and text.
    Heading { level: u8, text: String, offset: usize },
    /// A paragraph or list item's text.
    Prose { text: String, offset: usize },
    /// A code block: its info string (fence tag), content and the content's byte offset.
    Code {
        tag: String,
        content: String,
        offset: usize,
    },
}

/// The blocks of `text`.
pub(crate) fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut heading: Option<(u8, String, usize)> = None;
    let mut prose: Option<(String, usize)> = None;
    let mut code: Option<(String, String, Option<usize>, usize)> = None;
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((heading_level(level), String::new(), range.start));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text, offset)) = heading.take() {
                    blocks.push(Block::Heading {
                        level,
                        text: text.trim().to_string(),
                        offset,
                    });
                }
            }
            Event::Start(Tag::Paragraph) | Event::Start(Tag::Item) if code.is_none() && prose.is_none() => {
                prose = Some((String::new(), range.start));
            }
            Event::End(TagEnd::Paragraph) | Event::End(TagEnd::Item) => {
                if let Some((text, offset)) = prose.take() {
                    if !text.trim().is_empty() {
                        blocks.push(Block::Prose {
                            text: text.trim().to_string(),
                            offset,
                        });
                    }
                }
            }
            Event::Start(Tag::CodeBlock(kind)) => {
                let tag = match kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or("").to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((tag, String::new(), None, range.start));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((tag, content, offset, start)) = code.take() {
                    blocks.push(Block::Code {
                        tag,
                        content,
                        offset: offset.unwrap_or(start),
                    });
                }
            }
            Event::Text(piece) | Event::Code(piece) => {
                if let Some((_, content, offset, _)) = code.as_mut() {
                    if offset.is_none() {
                        *offset = Some(range.start);
                    }
                    content.push_str(&piece);
                } else if let Some((_, text, _)) = heading.as_mut() {
                    text.push_str(&piece);
                } else if let Some((text, _)) = prose.as_mut() {
                    text.push_str(&piece);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((text, _)) = prose.as_mut() {
                    text.push(' ');
                }
            }
            _ => {}
        }
    }
    blocks
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_offsets_point_at_the_content() {
        let text = "# A\n\nOn node x:\n\n```bash\nls\n```\n";
        let blocks = blocks(text);
        let Some(Block::Code { offset, content, tag }) = blocks.last() else {
            panic!("no code block in {blocks:?}");
        };
        assert_eq!(tag, "bash");
        assert_eq!(content, "ls\n");
        assert_eq!(&text[*offset..*offset + 2], "ls");
        assert!(matches!(&blocks[1], Block::Prose { text, .. } if text == "On node x:"));
    }
}
