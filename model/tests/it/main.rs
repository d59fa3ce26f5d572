//! The `model` crate's integration tests, one binary: the real-world corpus, the lint
//! fixtures and documentation, the lint properties and the lint rules' behaviour.
//!
//! Each module tests `model` through its public API only; none does IO beyond reading the
//! fixtures, the corpus and `docs/rules.md`.

mod corpus;
mod lint_fixtures;
mod lint_props;
mod lint_rules;
