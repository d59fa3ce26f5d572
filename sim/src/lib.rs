//! Runs the model: what-if scenarios, exhaustive analysis, model checking.

pub mod check;
mod error;
pub mod exhaustive;
pub mod script_check;
pub mod symmetry;
pub mod timing;
pub mod whatif;

pub use error::{Error, Result};
