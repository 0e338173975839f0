//! scone: a codec and file format that stores signals as SCONE networks
//! (Li, Liu, Huang, Wong, "Learning Spatially Collaged Fourier Bases for
//! Implicit Neural Representation", AAAI 2024).
//!
//! The encoder ([`train`], feature `train`) fits a network to one signal;
//! [`format`] reads and writes the `.scone` container (spec/FORMAT.md);
//! [`decode`] evaluates the network on any grid in pure Rust.
//!
//! ```
//! use scone::decode::Evaluator;
//! use scone::format::SconeFile;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vectors/rgb-f16-endpoints.scone");
//! let file = SconeFile::read(path)?;
//! assert_eq!(file.signal.sizes, [32, 24]);
//! // The network is defined on [-1, 1]²: sample it anywhere.
//! let rgb = Evaluator::new(&file.network).eval_point(&[0.25, -0.5]);
//! let value = file.signal.to_value(rgb[0]);
//! assert!(rgb.len() == 3 && value.is_finite());
//! # Ok::<(), scone::Error>(())
//! ```

pub mod alloc;
pub mod cli;
pub mod decode;
pub mod device;
#[cfg(feature = "train")]
pub mod encode;
mod error;
pub mod format;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod mesh;
pub mod metrics;
pub mod model;
pub mod signal;
#[cfg(feature = "train")]
pub mod train;

pub use error::Error;
