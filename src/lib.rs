//! scone: a codec and file format that stores signals as SCONE networks
//! (Li, Liu, Huang, Wong, "Learning Spatially Collaged Fourier Bases for
//! Implicit Neural Representation", AAAI 2024).
//!
//! The encoder ([`train`], feature `train`) fits a network to one signal;
//! [`format`] reads and writes the `.scone` container (spec/FORMAT.md);
//! [`decode`] evaluates the network on any grid in pure Rust.

pub mod alloc;
pub mod cli;
pub mod decode;
#[cfg(feature = "train")]
pub mod encode;
mod error;
pub mod format;
pub mod metrics;
pub mod model;
pub mod signal;
#[cfg(feature = "train")]
pub mod train;

pub use error::Error;
