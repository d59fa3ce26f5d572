//! The lossless corosync.conf syntax tree.
//!
//! Owns `parse`, `Document`, `Section`, `Entry` and the text edit API. It reproduces the
//! line-based parser of corosync 3.1 (`exec/coroparse.c`, `parse_section`): one item per line,
//! `{` must end its line, `:` separates key and value, `}` must stand alone, a comment is a
//! line whose first non-blank character is `#` (so an inline `#` belongs to the value), lines
//! longer than 510 bytes are refused. Every byte of the input is kept: `Document::to_text`
//! gives back the input exactly. It must not do IO or interpret values (see `config`).

use crate::diag::{Diagnostic, RejectedBy, Severity, Span};

/// corosync reads lines with `fgets` into a 512-byte buffer: 510 bytes of content plus the
/// newline plus the NUL terminator. A longer line is refused with `Line too long`.
pub const MAX_LINE_CONTENT: usize = 510;

/// `ICMAP_KEYNAME_MAXLEN`: a cmap key (dotted path) must be shorter than this.
pub const ICMAP_KEYNAME_MAXLEN: usize = 256;

/// Code of the parser diagnostics (all parser errors share one rule).
pub const PARSE_ERROR_CODE: &str = "E001";
/// Name of the parser diagnostics.
pub const PARSE_ERROR_NAME: &str = "syntax-error";

/// What one physical line is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// Empty or only blanks.
    Blank,
    /// First non-blank character is `#`.
    Comment,
    /// `name {`; `name` is the byte range of the section name within the line.
    SectionStart {
        /// Range of the name in `Line::raw`.
        name: (usize, usize),
    },
    /// A lone `}`.
    SectionEnd,
    /// `key: value`; ranges within `Line::raw`.
    KeyValue {
        /// Range of the key.
        key: (usize, usize),
        /// Range of the value (may be empty).
        value: (usize, usize),
    },
    /// A line corosync refuses; the message is corosync's.
    Invalid {
        /// corosync's parser message, e.g. `Line is not opening or closing section or key value`.
        message: &'static str,
    },
}

/// One physical line with its terminator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The full text of the line, terminator (`\n` or `\r\n`) included.
    pub raw: String,
    /// Offset of the line's first byte in the document.
    pub offset: usize,
    /// What the line is.
    pub kind: LineKind,
}

impl Line {
    /// The line without its terminator (`\n`, and a `\r` before it).
    pub fn content(&self) -> &str {
        let text = self.raw.strip_suffix('\n').unwrap_or(&self.raw);
        text.strip_suffix('\r').unwrap_or(text)
    }

    /// The leading blanks of the line.
    pub fn indent(&self) -> &str {
        let content = self.content();
        let trimmed = content.trim_start_matches([' ', '\t']);
        &content[..content.len() - trimmed.len()]
    }

    /// The line terminator (`"\n"`, `"\r\n"` or `""`).
    pub fn terminator(&self) -> &str {
        &self.raw[self.content().len()..]
    }
}

/// A key/value item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    /// The key as corosync sees it (trimmed, trailing `:`/`{` removed).
    pub key: String,
    /// The value as corosync sees it (trimmed; an inline `#` is part of it).
    pub value: String,
    /// Where the key is.
    pub key_span: Span,
    /// Where the value is (empty span after the colon when the value is empty).
    pub value_span: Span,
    /// Index of the line in `Document::lines`.
    pub line: usize,
}

/// An item of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `key: value`.
    Key(KeyValue),
    /// A nested section.
    Section(Section),
}

/// A section (`name { ... }`), or the root of the document.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Section {
    /// The section name (empty for the root).
    pub name: String,
    /// The dotted cmap path of the section, e.g. `nodelist.node` (empty for the root).
    pub path: String,
    /// Where the name is (empty for the root).
    pub name_span: Span,
    /// Index of the `name {` line (`None` for the root).
    pub start_line: Option<usize>,
    /// Index of the closing `}` line (`None` for the root or an unclosed section).
    pub end_line: Option<usize>,
    /// Keys and subsections in file order.
    pub entries: Vec<Entry>,
}

impl Section {
    /// The subsections named `name`, in file order.
    pub fn sections<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.entries.iter().filter_map(move |entry| match entry {
            Entry::Section(section) if section.name == name => Some(section),
            _ => None,
        })
    }

    /// All subsections, in file order.
    pub fn subsections(&self) -> impl Iterator<Item = &Section> {
        self.entries.iter().filter_map(|entry| match entry {
            Entry::Section(section) => Some(section),
            _ => None,
        })
    }

    /// All keys, in file order.
    pub fn keys(&self) -> impl Iterator<Item = &KeyValue> {
        self.entries.iter().filter_map(|entry| match entry {
            Entry::Key(key) => Some(key),
            _ => None,
        })
    }

    /// The effective item for `key`: the last one, since corosync lets the last one win.
    pub fn key(&self, key: &str) -> Option<&KeyValue> {
        self.keys().filter(|item| item.key == key).last()
    }

    /// The value of the effective item for `key`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.key(key).map(|item| item.value.as_str())
    }
}

/// A parsed corosync.conf: its lines (lossless) and the section tree built from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    lines: Vec<Line>,
    root: Section,
}

/// Where to insert or find things: a section identified by its start line, or the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionId {
    /// The top level of the file.
    Root,
    /// The section whose `name {` is at this line index.
    Line(usize),
}

/// Parses `text` exactly as corosync 3.1's parser does, keeping every byte.
///
/// Never fails: lines corosync refuses become `LineKind::Invalid` and a diagnostic tagged
/// `rejected_by: "corosync -t"`. corosync stops at its first error; we go on so that one
/// run shows every problem.
pub fn parse(text: &str) -> (Document, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let kind = classify(raw);
        lines.push(Line {
            raw: raw.to_string(),
            offset,
            kind,
        });
        offset += raw.len();
    }
    let root = build_tree(&mut lines, &mut diagnostics);
    (Document { lines, root }, diagnostics)
}

/// corosync's blank characters: space, tab and the byte 0xA0.
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t' || byte == 0xA0
}

/// Trims corosync blanks on both sides, and trailing `:`/`{` when `strip_colon_brace`
/// (`remove_whitespace` in coroparse.c, including its quirk of never stripping the first
/// byte). Returns the byte range within `bytes` offset by `base`.
fn remove_whitespace(bytes: &[u8], base: usize, strip_colon_brace: bool) -> (usize, usize) {
    let mut start = 0;
    while start < bytes.len() && is_blank(bytes[start]) {
        start += 1;
    }
    if start >= bytes.len() {
        return (base + start, base + start);
    }
    let mut end = bytes.len() - 1;
    while end > start
        && (is_blank(bytes[end]) || (strip_colon_brace && (bytes[end] == b':' || bytes[end] == b'{')))
    {
        end -= 1;
    }
    (base + start, base + end + 1)
}

/// Adjusts a byte range so it falls on UTF-8 character boundaries of `text`.
fn char_range(text: &str, (mut start, mut end): (usize, usize)) -> (usize, usize) {
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    while end < text.len() && !text.is_char_boundary(end) {
        end += 1;
    }
    (start, end.max(start))
}

/// Classifies one physical line as `parse_section` does, without context.
fn classify(raw: &str) -> LineKind {
    let bytes = raw.as_bytes();
    let mut content_len = bytes.len();
    let has_newline = bytes.last() == Some(&b'\n');
    if has_newline {
        content_len -= 1;
    }
    // fgets reads at most 511 bytes; without a newline in them (and not at EOF) the line is
    // too long. The `\r` of a CRLF counts as content at that point.
    if content_len > MAX_LINE_CONTENT + usize::from(!has_newline) {
        return LineKind::Invalid {
            message: "Line too long",
        };
    }
    if content_len > 0 && bytes[content_len - 1] == b'\r' {
        content_len -= 1;
    }
    // strlen stops at a NUL byte.
    if let Some(nul) = bytes[..content_len].iter().position(|&b| b == 0) {
        content_len = nul;
    }
    while content_len > 0 && is_blank(bytes[content_len - 1]) {
        content_len -= 1;
    }
    let line = &bytes[..content_len];
    match line.iter().find(|&&b| !is_blank(b)) {
        None => return LineKind::Blank,
        Some(b'#') => return LineKind::Comment,
        Some(_) => {}
    }
    if let Some(brace) = line.iter().position(|&b| b == b'{') {
        // strchr_rs: the position after `{` and the blanks that follow it; the byte before
        // that position is cut off.
        let mut after = brace + 1;
        while after < line.len() && is_blank(line[after]) {
            after += 1;
        }
        let name = remove_whitespace(&line[..after - 1], 0, true);
        let rest = remove_whitespace(&line[after..], after, false);
        if name.0 == name.1 {
            return LineKind::Invalid {
                message: "Missing section name before opening bracket '{'",
            };
        }
        if rest.0 != rest.1 {
            return LineKind::Invalid {
                message: "Extra characters after opening bracket '{'",
            };
        }
        return LineKind::SectionStart {
            name: char_range(raw, name),
        };
    }
    if let Some(colon) = line.iter().position(|&b| b == b':') {
        let mut after = colon + 1;
        while after < line.len() && is_blank(line[after]) {
            after += 1;
        }
        let key = remove_whitespace(&line[..after - 1], 0, true);
        let value = remove_whitespace(&line[after..], after, false);
        return LineKind::KeyValue {
            key: char_range(raw, key),
            value: char_range(raw, value),
        };
    }
    if line.contains(&b'}') {
        let trimmed = remove_whitespace(line, 0, false);
        if &line[trimmed.0..trimmed.1] != b"}" {
            return LineKind::Invalid {
                message: "Extra characters before or after closing bracket '}'",
            };
        }
        return LineKind::SectionEnd;
    }
    LineKind::Invalid {
        message: "Line is not opening or closing section or key value",
    }
}

fn parse_error(message: &str, span: Span) -> Diagnostic {
    Diagnostic::new(PARSE_ERROR_CODE, PARSE_ERROR_NAME, Severity::Error, message)
        .with_span(span)
        .rejected_by(RejectedBy::CorosyncT)
        .with_help(format!("corosync -t: parser error: <file>:<line>: {message}"))
}

fn line_span(line: &Line) -> Span {
    let content = line.content();
    let start = line.offset + line.indent().len();
    Span::new(start, line.offset + content.len())
}

/// Builds the section tree with an explicit stack (no recursion). Sections nested so deep
/// that their cmap path reaches `ICMAP_KEYNAME_MAXLEN` are refused by corosync and not
/// kept in the tree, so the tree depth stays below 128 whatever the input.
fn build_tree(lines: &mut [Line], diagnostics: &mut Vec<Diagnostic>) -> Section {
    let mut stack: Vec<Section> = vec![Section::default()];
    // Depth of sections skipped because their cmap path is too long (see below).
    let mut phantom_depth = 0usize;
    for (index, line) in lines.iter_mut().enumerate() {
        match line.kind.clone() {
            LineKind::Blank | LineKind::Comment => {}
            LineKind::Invalid { message } => diagnostics.push(parse_error(message, line_span(line))),
            LineKind::SectionStart { .. } | LineKind::SectionEnd | LineKind::KeyValue { .. }
                if phantom_depth > 0 =>
            {
                // Inside a section whose path is already too long: corosync stopped at its
                // opening line. Track the braces only, so that nesting depth (and memory)
                // stay bounded whatever the input.
                match line.kind {
                    LineKind::SectionStart { .. } => phantom_depth += 1,
                    LineKind::SectionEnd => phantom_depth -= 1,
                    _ => {}
                }
            }
            LineKind::SectionStart { name } => {
                let parent_path = stack.last().map(|s| s.path.clone()).unwrap_or_default();
                let name_text = line.raw[name.0..name.1].to_string();
                if parent_path.len() + name_text.len() + 1 >= ICMAP_KEYNAME_MAXLEN {
                    diagnostics.push(parse_error(
                        "Start of section makes total cmap path too long",
                        line_span(line),
                    ));
                    phantom_depth = 1;
                    continue;
                }
                let path = if parent_path.is_empty() {
                    name_text.clone()
                } else {
                    format!("{parent_path}.{name_text}")
                };
                stack.push(Section {
                    name: name_text,
                    path,
                    name_span: Span::new(line.offset + name.0, line.offset + name.1),
                    start_line: Some(index),
                    end_line: None,
                    entries: Vec::new(),
                });
            }
            LineKind::SectionEnd => {
                if stack.len() == 1 {
                    diagnostics.push(parse_error("Unexpected closing brace", line_span(line)));
                    line.kind = LineKind::Invalid {
                        message: "Unexpected closing brace",
                    };
                    continue;
                }
                if let Some(mut section) = stack.pop() {
                    section.end_line = Some(index);
                    if let Some(parent) = stack.last_mut() {
                        parent.entries.push(Entry::Section(section));
                    }
                }
            }
            LineKind::KeyValue { key, value } => {
                let parent_path = stack.last().map(|s| s.path.clone()).unwrap_or_default();
                let key_text = line.raw[key.0..key.1].to_string();
                if key_text.is_empty() {
                    // 3.1.10 refuses this; 3.1.7 stores a key named after its section.
                    diagnostics.push(
                        Diagnostic::new(PARSE_ERROR_CODE, PARSE_ERROR_NAME, Severity::Warning, "Key name can't be empty")
                            .with_span(line_span(line))
                            .with_help("corosync 3.1.10 refuses an empty key name (`parser error: <file>:<line>: Key name can't be empty`); give the key a name or remove the line"),
                    );
                }
                if parent_path.len() + key_text.len() + 1 >= ICMAP_KEYNAME_MAXLEN {
                    diagnostics.push(parse_error(
                        "New key makes total cmap path too long",
                        line_span(line),
                    ));
                }
                let item = KeyValue {
                    key: key_text,
                    value: line.raw[value.0..value.1].to_string(),
                    key_span: Span::new(line.offset + key.0, line.offset + key.1),
                    value_span: Span::new(line.offset + value.0, line.offset + value.1),
                    line: index,
                };
                if let Some(section) = stack.last_mut() {
                    section.entries.push(Entry::Key(item));
                }
            }
        }
    }
    // Close what is still open at end of file: corosync reports `Missing closing brace` at
    // the last line; we point at the unclosed section's opening line.
    let mut first_unclosed = None;
    while stack.len() > 1 {
        if let Some(section) = stack.pop() {
            first_unclosed = Some(section.name_span);
            if let Some(parent) = stack.last_mut() {
                parent.entries.push(Entry::Section(section));
            }
        }
    }
    if let Some(span) = first_unclosed {
        diagnostics.push(
            parse_error("Missing closing brace", span)
                .with_help("corosync -t: parser error: <file>:<last line>: Missing closing brace; add the `}` that closes this section"),
        );
    }
    stack.pop().unwrap_or_default()
}

impl Document {
    /// The whole text, byte for byte as parsed (or as edited).
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(self.lines.iter().map(|l| l.raw.len()).sum());
        for line in &self.lines {
            text.push_str(&line.raw);
        }
        text
    }

    /// The physical lines.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The top level of the file.
    pub fn root(&self) -> &Section {
        &self.root
    }

    /// All sections whose dotted path is `path` (e.g. `nodelist.node`), in file order,
    /// including repeated parents (two `nodelist {}` give the nodes of both).
    pub fn sections_at(&self, path: &str) -> Vec<&Section> {
        let mut found = Vec::new();
        let mut todo: Vec<&Section> = vec![&self.root];
        while let Some(section) = todo.pop() {
            for sub in section.subsections() {
                if sub.path == path {
                    found.push(sub);
                } else if path.starts_with(&sub.path) && path.as_bytes().get(sub.path.len()) == Some(&b'.') {
                    todo.push(sub);
                }
            }
        }
        found.sort_by_key(|s| s.start_line);
        found
    }

    /// The section with the given id.
    pub fn section(&self, id: SectionId) -> Option<&Section> {
        match id {
            SectionId::Root => Some(&self.root),
            SectionId::Line(line) => {
                let mut todo: Vec<&Section> = vec![&self.root];
                while let Some(section) = todo.pop() {
                    for sub in section.subsections() {
                        if sub.start_line == Some(line) {
                            return Some(sub);
                        }
                        todo.push(sub);
                    }
                }
                None
            }
        }
    }

    fn from_lines(raw_lines: Vec<String>) -> Document {
        parse(&raw_lines.concat()).0
    }

    fn raw_lines(&self) -> Vec<String> {
        self.lines.iter().map(|l| l.raw.clone()).collect()
    }

    /// The terminator used by the file (`\r\n` if its first line uses it, else `\n`).
    fn newline(&self) -> &'static str {
        match self.lines.first() {
            Some(line) if line.raw.ends_with("\r\n") => "\r\n",
            _ => "\n",
        }
    }

    /// The indentation unit of the file: the indent of the first indented line, else a tab.
    fn indent_unit(&self) -> String {
        self.lines
            .iter()
            .filter(|l| !matches!(l.kind, LineKind::Blank))
            .map(|l| l.indent())
            .find(|indent| !indent.is_empty())
            .unwrap_or("\t")
            .to_string()
    }

    /// Indentation for new items inside `section`.
    fn child_indent(&self, section: &Section) -> String {
        for entry in &section.entries {
            let line = match entry {
                Entry::Key(key) => key.line,
                Entry::Section(sub) => match sub.start_line {
                    Some(line) => line,
                    None => continue,
                },
            };
            return self.lines[line].indent().to_string();
        }
        match section.start_line {
            Some(line) => format!("{}{}", self.lines[line].indent(), self.indent_unit()),
            None => String::new(),
        }
    }

    /// Index of the line before which new items of `section` go, and whether a newline must
    /// be added to the previous last line first (file without final newline).
    fn insertion_line(&self, section: &Section) -> usize {
        match section.end_line {
            Some(line) => line,
            None => self.lines.len(),
        }
    }

    /// Sets `key` in `section` to `value`: rewrites the effective item's value in place
    /// (keeping indentation, spacing and terminator), or appends a new item at the end of the
    /// section. Other lines are untouched.
    pub fn set_key(&self, section: SectionId, key: &str, value: &str) -> Option<Document> {
        let target = self.section(section)?;
        let mut raw = self.raw_lines();
        if let Some(item) = target.key(key) {
            let line = &self.lines[item.line];
            let start = item.value_span.start - line.offset;
            let end = item.value_span.end - line.offset;
            let mut text = line.raw.clone();
            if start == end && !line.raw[..start].ends_with([' ', '\t']) {
                text.replace_range(start..end, &format!(" {value}"));
            } else {
                text.replace_range(start..end, value);
            }
            raw[item.line] = text;
        } else {
            let indent = self.child_indent(target);
            let new_line = format!("{indent}{key}: {value}{}", self.newline());
            self.insert_lines(&mut raw, self.insertion_line(target), vec![new_line]);
        }
        Some(Document::from_lines(raw))
    }

    /// Like `set_key`, but a new item goes right after the effective item named `after`
    /// (with its indentation) when the section has one, so that `ring2_addr` lands next to
    /// `ring1_addr` instead of at the end of the node. An existing `key` is rewritten in
    /// place, as `set_key` does.
    pub fn set_key_after(&self, section: SectionId, key: &str, value: &str, after: &str) -> Option<Document> {
        let target = self.section(section)?;
        if target.key(key).is_some() {
            return self.set_key(section, key, value);
        }
        let Some(anchor) = target.key(after) else {
            return self.set_key(section, key, value);
        };
        let line = &self.lines[anchor.line];
        let terminator = match line.terminator() {
            "" => self.newline(),
            other => other,
        };
        let mut raw = self.raw_lines();
        if line.terminator().is_empty() {
            raw[anchor.line].push_str(terminator);
        }
        raw.insert(
            anchor.line + 1,
            format!("{}{key}: {value}{terminator}", line.indent()),
        );
        Some(Document::from_lines(raw))
    }

    /// Removes every item named `key` from `section` (duplicates included).
    pub fn remove_key(&self, section: SectionId, key: &str) -> Option<Document> {
        let target = self.section(section)?;
        let remove: Vec<usize> = target.keys().filter(|k| k.key == key).map(|k| k.line).collect();
        if remove.is_empty() {
            return Some(self.clone());
        }
        let raw: Vec<String> = self
            .raw_lines()
            .into_iter()
            .enumerate()
            .filter(|(index, _)| !remove.contains(index))
            .map(|(_, line)| line)
            .collect();
        Some(Document::from_lines(raw))
    }

    /// Appends a new section `name` with `items` (key, value) at the end of `parent`.
    pub fn add_section(&self, parent: SectionId, name: &str, items: &[(&str, &str)]) -> Option<Document> {
        let target = self.section(parent)?;
        let indent = self.child_indent(target);
        let unit = self.indent_unit();
        let newline = self.newline();
        let mut new_lines = vec![format!("{indent}{name} {{{newline}")];
        for (key, value) in items {
            new_lines.push(format!("{indent}{unit}{key}: {value}{newline}"));
        }
        new_lines.push(format!("{indent}}}{newline}"));
        let mut raw = self.raw_lines();
        self.insert_lines(&mut raw, self.insertion_line(target), new_lines);
        Some(Document::from_lines(raw))
    }

    /// Removes a whole section (from its `name {` line to its `}` line).
    pub fn remove_section(&self, section: SectionId) -> Option<Document> {
        let SectionId::Line(start) = section else {
            return None;
        };
        let target = self.section(section)?;
        let end = target.end_line.unwrap_or(self.lines.len() - 1);
        let raw: Vec<String> = self
            .raw_lines()
            .into_iter()
            .enumerate()
            .filter(|(index, _)| *index < start || *index > end)
            .map(|(_, line)| line)
            .collect();
        Some(Document::from_lines(raw))
    }

    fn insert_lines(&self, raw: &mut Vec<String>, at: usize, new_lines: Vec<String>) {
        // A file without final newline: terminate its last line before appending after it.
        if at == raw.len() {
            if let Some(last) = raw.last_mut() {
                if !last.ends_with('\n') {
                    last.push_str(self.newline());
                }
            }
        }
        for (offset, line) in new_lines.into_iter().enumerate() {
            raw.insert(at + offset, line);
        }
    }

    /// The `nodelist.node` section whose `nodeid` is `nodeid`.
    pub fn node_section(&self, nodeid: &str) -> Option<SectionId> {
        self.sections_at("nodelist.node")
            .into_iter()
            .find(|node| node.value("nodeid") == Some(nodeid))
            .and_then(|node| node.start_line.map(SectionId::Line))
    }

    /// Adds a node to the (first) nodelist, creating the nodelist if there is none.
    pub fn add_node(&self, items: &[(&str, &str)]) -> Option<Document> {
        let document = match self.sections_at("nodelist").first() {
            Some(_) => self.clone(),
            None => self.add_section(SectionId::Root, "nodelist", &[])?,
        };
        let nodelist = document.sections_at("nodelist").first()?.start_line?;
        document.add_section(SectionId::Line(nodelist), "node", items)
    }

    /// Removes the node whose `nodeid` is `nodeid`.
    pub fn remove_node(&self, nodeid: &str) -> Option<Document> {
        self.remove_section(self.node_section(nodeid)?)
    }

    /// Adds link `linknumber`: sets `ring<N>_addr` on every node from `addresses`
    /// (nodeid, address). Nodes not listed are left alone.
    pub fn add_link(&self, linknumber: u8, addresses: &[(&str, &str)]) -> Option<Document> {
        let key = format!("ring{linknumber}_addr");
        let mut document = self.clone();
        for (nodeid, address) in addresses {
            let node = document.node_section(nodeid)?;
            document = document.set_key(node, &key, address)?;
        }
        Some(document)
    }

    /// Removes link `linknumber`: every `ring<N>_addr` and the `interface` section whose
    /// `linknumber` is N.
    pub fn remove_link(&self, linknumber: u8) -> Option<Document> {
        let key = format!("ring{linknumber}_addr");
        let mut document = self.clone();
        let nodeids: Vec<String> = document
            .sections_at("nodelist.node")
            .iter()
            .filter_map(|node| node.value("nodeid").map(str::to_string))
            .collect();
        for nodeid in nodeids {
            let node = document.node_section(&nodeid)?;
            document = document.remove_key(node, &key)?;
        }
        let link = linknumber.to_string();
        let interface = document
            .sections_at("totem.interface")
            .into_iter()
            .find(|section| {
                section.value("linknumber").or(section.value("ringnumber")) == Some(link.as_str())
            })
            .and_then(|section| section.start_line);
        if let Some(start) = interface {
            document = document.remove_section(SectionId::Line(start))?;
        }
        Some(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<LineKind> {
        parse(text).0.lines.into_iter().map(|l| l.kind).collect()
    }

    #[test]
    fn round_trips_crlf_tabs_and_no_final_newline() {
        for text in ["totem {\r\n\tversion: 2\r\n}", "a: b\n\n# c\n", "", "\n", "x {\n"] {
            assert_eq!(parse(text).0.to_text(), text);
        }
    }

    #[test]
    fn inline_hash_belongs_to_value() {
        let (document, diagnostics) = parse("totem {\n token: 3000 # ms\n}\n");
        assert!(diagnostics.is_empty());
        let totem = document.sections_at("totem")[0];
        assert_eq!(totem.value("token"), Some("3000 # ms"));
    }

    #[test]
    fn brace_rules_follow_coroparse() {
        assert_eq!(
            kinds("totem { x\n")[0],
            LineKind::Invalid {
                message: "Extra characters after opening bracket '{'"
            }
        );
        assert_eq!(
            kinds("{\n")[0],
            LineKind::Invalid {
                message: "Missing section name before opening bracket '{'"
            }
        );
        assert_eq!(
            kinds("} x\n")[0],
            LineKind::Invalid {
                message: "Extra characters before or after closing bracket '}'"
            }
        );
        assert_eq!(
            kinds("hello\n")[0],
            LineKind::Invalid {
                message: "Line is not opening or closing section or key value"
            }
        );
        let (_, diagnostics) = parse("}\n");
        assert_eq!(diagnostics[0].message, "Unexpected closing brace");
        let (_, diagnostics) = parse("totem {\n");
        assert_eq!(diagnostics[0].message, "Missing closing brace");
    }

    #[test]
    fn line_length_limit_is_510_bytes() {
        let ok = format!("a: {}\n", "x".repeat(507));
        assert!(parse(&ok).1.is_empty());
        let long = format!("a: {}\n", "x".repeat(508));
        assert_eq!(parse(&long).1[0].message, "Line too long");
    }

    #[test]
    fn edits_keep_untouched_lines() {
        let text =
            "# head\ntotem {\n    version: 2 # keep\n}\nquorum {\n    provider: corosync_votequorum\n}\n";
        let (document, _) = parse(text);
        let quorum = document.sections_at("quorum")[0]
            .start_line
            .map(SectionId::Line)
            .unwrap_or(SectionId::Root);
        let edited = document
            .set_key(quorum, "two_node", "1")
            .unwrap_or_else(|| document.clone());
        assert_eq!(
            edited.to_text(),
            "# head\ntotem {\n    version: 2 # keep\n}\nquorum {\n    provider: corosync_votequorum\n    two_node: 1\n}\n"
        );
        let quorum = edited.sections_at("quorum")[0]
            .start_line
            .map(SectionId::Line)
            .unwrap_or(SectionId::Root);
        let back = edited
            .remove_key(quorum, "two_node")
            .unwrap_or_else(|| edited.clone());
        assert_eq!(back.to_text(), text);
    }

    #[test]
    fn node_and_link_edits() {
        let text = "nodelist {\n\tnode {\n\t\tnodeid: 1\n\t\tring0_addr: 10.0.0.1\n\t}\n}\n";
        let (document, _) = parse(text);
        let added = document.add_node(&[("nodeid", "2"), ("ring0_addr", "10.0.0.2")]);
        let added = added.unwrap_or_else(|| document.clone());
        assert_eq!(added.sections_at("nodelist.node").len(), 2);
        let linked = added
            .add_link(1, &[("1", "10.1.0.1"), ("2", "10.1.0.2")])
            .unwrap_or_else(|| added.clone());
        assert!(linked.to_text().contains("\t\tring1_addr: 10.1.0.2\n"));
        let unlinked = linked.remove_link(1).unwrap_or_else(|| linked.clone());
        assert_eq!(unlinked.to_text(), added.to_text());
        let removed = added.remove_node("2").unwrap_or_else(|| added.clone());
        assert_eq!(removed.to_text(), text);
    }

    #[test]
    fn set_key_after_places_the_new_item_beside_its_anchor() {
        let text = "node {\n  ring0_addr: a\n  name: n1\n}\n";
        let (document, _) = parse(text);
        let node = SectionId::Line(0);
        let edited = document.set_key_after(node, "ring1_addr", "b", "ring0_addr");
        assert_eq!(
            edited.map(|document| document.to_text()).as_deref(),
            Some("node {\n  ring0_addr: a\n  ring1_addr: b\n  name: n1\n}\n")
        );
        // Without the anchor it appends, as set_key does; an existing key is rewritten.
        let appended = document.set_key_after(node, "nodeid", "1", "ring7_addr");
        assert_eq!(
            appended.map(|document| document.to_text()).as_deref(),
            Some("node {\n  ring0_addr: a\n  name: n1\n  nodeid: 1\n}\n")
        );
        let rewritten = document.set_key_after(node, "name", "n2", "ring0_addr");
        assert_eq!(
            rewritten.map(|document| document.to_text()).as_deref(),
            Some("node {\n  ring0_addr: a\n  name: n2\n}\n")
        );
    }

    #[test]
    fn deep_nesting_is_bounded_and_reported_once() {
        let depth = 100_000;
        let text = "a {\n".repeat(depth) + &"}\n".repeat(depth);
        let (document, diagnostics) = parse(&text);
        assert_eq!(document.to_text(), text);
        let too_long: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.message.contains("too long"))
            .collect();
        assert_eq!(too_long.len(), 1);
        assert!(
            diagnostics.iter().all(|d| !d.message.contains("brace")),
            "braces balance"
        );
        let unbalanced = "a {\n".repeat(300);
        let (_, diagnostics) = parse(&unbalanced);
        assert!(diagnostics.iter().any(|d| d.message == "Missing closing brace"));
    }
}
