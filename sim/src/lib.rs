//! Runs the model: what-if scenarios, exhaustive analysis, model checking.

pub mod whatif;
pub mod check;
pub mod exhaustive;
