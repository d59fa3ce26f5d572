//! `quorate whatif FILE --all`: exhaustive partition analysis (placeholder).
//!
//! Owned by the engineer building `sim::exhaustive`; this placeholder only lets the `--all`
//! flag of `quorate whatif` compile and fail cleanly until the real command replaces it. It
//! must not hold analysis logic.

use crate::cmd::whatif::WhatifArgs;
use std::io::Write;

/// Runs `quorate whatif FILE --all`. Not built yet: always an error (exit 2).
pub fn run(
    args: &WhatifArgs,
    settings: &model::quorum::QuorumSettings,
    config: &model::config::Config,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> anyhow::Result<u8> {
    let _ = (args, settings, config, out, err);
    anyhow::bail!("quorate whatif --all is not built yet")
}
