//! Reading input files for the commands: paths or `-` for standard input.
//!
//! Owns the checks that make bad input a clear message instead of a panic: unreadable,
//! too large, binary (NUL bytes) and non-UTF-8 files. It must not interpret corosync syntax.

use std::io::Read;
use std::path::Path;

/// Files larger than this are refused: no corosync.conf is anywhere near it.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// A file read for analysis.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name to show (the path as given, or `<stdin>`).
    pub name: String,
    /// The text; invalid UTF-8 sequences are replaced by U+FFFD (see `not_utf8_at`).
    pub text: String,
    /// Byte offset of the first invalid UTF-8 sequence, if any.
    pub not_utf8_at: Option<usize>,
}

/// Why a file could not be analysed at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("cannot read {name}: {source}")]
    Unreadable {
        /// The path.
        name: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is larger than `MAX_INPUT_BYTES`.
    #[error("{name} is {}, more than the {max} bytes a corosync.conf could plausibly be; is it the right file?", describe_size(*size, *max))]
    TooLarge {
        /// The path.
        name: String,
        /// Its real size, when known (a regular file); `None` for a stream, of which only
        /// `max + 1` bytes were read.
        size: Option<u64>,
        /// The limit.
        max: u64,
    },
    /// The file has NUL bytes: it is not a text file.
    #[error("{name} is a binary file (NUL byte at offset {offset}), not a corosync.conf")]
    Binary {
        /// The path.
        name: String,
        /// Where the first NUL byte is.
        offset: usize,
    },
}

/// `104857600 bytes`, or `larger than 16777216 bytes` when only the limit is known (the
/// reader stops one byte past it). See: issue 10 item 7.
fn describe_size(size: Option<u64>, max: u64) -> String {
    match size {
        Some(size) => format!("{size} bytes"),
        None => format!("larger than {max} bytes"),
    }
}

/// Reads `path` (`-` for standard input) with the checks above: a corosync.conf.
pub fn read_source(path: &str) -> Result<SourceFile, InputError> {
    read_input(path, "corosync.conf")
}

/// Reads `path` (`-` for standard input) with the checks above; `what` names the kind of
/// file expected (`corosync.conf`, `script`) in the message for a directory.
pub fn read_input(path: &str, what: &str) -> Result<SourceFile, InputError> {
    let (name, bytes) = if path == "-" {
        let mut bytes = Vec::new();
        let read = std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes);
        read.map_err(|source| InputError::Unreadable {
            name: "<stdin>".into(),
            source,
        })?;
        ("<stdin>".to_string(), bytes)
    } else {
        let name = path.to_string();
        let file = std::fs::File::open(Path::new(path)).map_err(|source| InputError::Unreadable {
            name: name.clone(),
            source,
        })?;
        let metadata = file.metadata().map_err(|source| InputError::Unreadable {
            name: name.clone(),
            source,
        })?;
        if metadata.is_dir() {
            return Err(InputError::Unreadable {
                name,
                source: std::io::Error::other(format!("is a directory; give the {what} file itself")),
            });
        }
        if metadata.is_file() && metadata.len() > MAX_INPUT_BYTES {
            return Err(InputError::TooLarge {
                name,
                size: Some(metadata.len()),
                max: MAX_INPUT_BYTES,
            });
        }
        let mut bytes = Vec::new();
        file.take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| InputError::Unreadable {
                name: name.clone(),
                source,
            })?;
        (name, bytes)
    };
    source_from_bytes(name, bytes)
}

/// Applies the size, binary and UTF-8 checks to bytes already read.
pub fn source_from_bytes(name: String, bytes: Vec<u8>) -> Result<SourceFile, InputError> {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        // The readers stop one byte past the limit, so the length says only "larger".
        return Err(InputError::TooLarge {
            name,
            size: None,
            max: MAX_INPUT_BYTES,
        });
    }
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(InputError::Binary { name, offset });
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile {
            name,
            text,
            not_utf8_at: None,
        }),
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(error.as_bytes()).into_owned();
            Ok(SourceFile {
                name,
                text,
                not_utf8_at: Some(offset),
            })
        }
    }
}

/// A corosync.conf read and parsed once: the text, its syntax tree with the parser's
/// diagnostics, and the typed configuration. Commands that simulate (`whatif`, `check`)
/// start from this instead of each parsing again.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The file as read.
    pub source: SourceFile,
    /// Its syntax tree.
    pub document: model::syntax::Document,
    /// What the parser refused.
    pub parse_diagnostics: Vec<model::Diagnostic>,
    /// The typed configuration.
    pub config: model::config::Config,
}

impl LoadedConfig {
    /// Parses a file already read.
    pub fn from_source(source: SourceFile) -> LoadedConfig {
        let (document, parse_diagnostics) = model::syntax::parse(&source.text);
        let (config, _) = model::config::Config::from_document(&document);
        LoadedConfig {
            source,
            document,
            parse_diagnostics,
            config,
        }
    }

    /// Reads and parses `path` (`-` for standard input).
    pub fn load(path: &str) -> Result<LoadedConfig, InputError> {
        read_source(path).map(LoadedConfig::from_source)
    }

    /// Whether the file is for Proxmox VE: by its path (`/etc/pve/...`), else by its content.
    pub fn is_proxmox(&self, path: &str) -> bool {
        model::lint::LintOptions::for_path(path)
            .proxmox
            .unwrap_or_else(|| model::lint::is_proxmox(&self.document))
    }

    /// What corosync refuses in this file (`corosync -t` or startup), one warning line each
    /// for stderr: `warning: FILE:LINE:COL: MESSAGE [CODE]: consequence`. The commands that
    /// simulate or show the file print these first, so that a file corosync would not take is
    /// never simulated or shown without its real reason.
    pub fn refusals(&self, proxmox: bool) -> Vec<String> {
        let options = model::lint::LintOptions {
            proxmox: Some(proxmox),
            ..model::lint::LintOptions::default()
        };
        let text = &self.source.text;
        let index = model::LineIndex::new(text);
        self.lint(&options)
            .iter()
            .filter(|diagnostic| diagnostic.severity == model::Severity::Error)
            .filter_map(|diagnostic| {
                let by = diagnostic.rejected_by?;
                let (line, column) = crate::render::position(&index, text, diagnostic);
                let consequence = match by {
                    model::RejectedBy::CorosyncT => "corosync -t rejects it and corosync would not start",
                    model::RejectedBy::CorosyncStartup => "corosync would refuse to start (exit 20)",
                };
                Some(format!(
                    "warning: {}:{line}:{column}: {} [{}]: {consequence}",
                    self.source.name, diagnostic.message, diagnostic.code
                ))
            })
            .collect()
    }

    /// Every finding of `lint` on this file, the parser's included, without parsing again.
    pub fn lint(&self, options: &model::lint::LintOptions) -> Vec<model::Diagnostic> {
        // See: issue 10 item 7: after a fatal syntax error, nothing that depends on the
        // broken section tree is reported (as `quorate lint` does).
        model::lint::lint_parsed(
            &self.document,
            &self.config,
            self.parse_diagnostics.clone(),
            options,
        )
    }
}
