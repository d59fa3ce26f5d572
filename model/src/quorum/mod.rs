//! The votequorum engine: per-node state machine and membership from links.
//!
//! Owns `QuorumSettings` (inputs) and the transition functions. Pure: no IO, no clocks
//! (time is an explicit input), no randomness.

pub mod settings;

pub use settings::{DeviceSettings, NodeId, NodeSettings, Provider, QuorumSettings, TieBreaker, Transport};
