//! Runs the model: what-if scenarios, exhaustive analysis, model checking.

pub mod check;
pub mod exhaustive;
pub mod script_check;
pub mod whatif;
