//! Runs the model: what-if scenarios, exhaustive analysis, model checking.

pub mod check;
pub mod exhaustive;
pub mod whatif;
