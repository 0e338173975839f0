//! scone: a codec and file format that stores signals as SCONE networks
//! (Li, Liu, Huang, Wong, "Learning Spatially Collaged Fourier Bases for
//! Implicit Neural Representation", AAAI 2024).
//!
//! A `.scone` file (spec/FORMAT.md) holds an image, a clip or a 3D shape
//! as the weights of a coordinate network; decoding evaluates the network
//! on any grid. [`Decoder`] is the front door: open a file, read its
//! header, then decode an image at any size, a clip's frames at any size
//! and frame rate, or a shape's signed distances and mesh at any
//! resolution, every request checked against [`Limits`] first.
//!
//! ```
//! use scone::{Decoder, Kind};
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vectors/rgb-f16-endpoints.scone");
//! let decoder = Decoder::open(path)?;
//! let info = decoder.info();
//! assert_eq!((info.kind, info.width(), info.height(), info.channels()), (Kind::Image, 32, 24, 3));
//!
//! // Twice the encoded size, as 8-bit RGB rows.
//! let image = decoder.image_at_scale(2.0)?;
//! assert_eq!((image.width(), image.height()), (64, 48));
//! let rgb: Vec<u8> = image.to_vec()?;
//! assert_eq!(rgb.len(), 64 * 48 * 3);
//!
//! // A file of another kind is an error, not a panic.
//! let clip = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/vectors/video-rgb-centre-25fps.scone");
//! assert!(Decoder::open(clip)?.image(64, 48).is_err());
//! # Ok::<(), scone::Error>(())
//! ```
//!
//! # Layers
//!
//! With no Cargo features the crate is the decoder library alone, on
//! crc32fast, half, zstd, gemm and rayon: [`format`](mod@format) reads and writes the
//! container, [`eval`] evaluates networks ([`eval::Evaluator`], with its
//! `f64` twin [`eval::eval_reference`]), [`signal`] maps grids to
//! coordinates and outputs to samples, [`mesh`] runs marching cubes.
//! Features add the rest by job: `media` (image and clip files), `mesh-io`
//! (shape files, signed distances to a shape), `simplify` (meshoptimizer),
//! `train` (the encoder), `cuda` (NVIDIA GPUs), `cli` (the `scone`
//! command) and `benchmarks` (timers for the tools). The default build is
//! the full command line, `cli` and `train`.
//!
//! # Threads
//!
//! Evaluation runs on rayon's pool: the global one, or the caller's when a
//! request runs inside [`rayon::ThreadPool::install`], which is how a
//! program bounds the threads a decode uses. Results do not depend on the
//! number of threads.

#[cfg(feature = "benchmarks")]
pub mod bench;
#[cfg(feature = "cuda")]
pub mod cuda;
mod decoder;
pub mod device;
#[cfg(feature = "train")]
pub mod encode;
pub mod entropy;
mod error;
pub mod eval;
pub mod format;
mod limits;
pub mod mesh;
pub mod metrics;
pub mod model;
pub mod signal;
#[cfg(feature = "train")]
pub mod train;

pub use decoder::{
    ClipRequest, Decoder, DecoderBuilder, ImageRender, OutputSize, Sample, Schedule, SdfGrid,
};
pub use error::{Error, FormatError, Limit, LimitError, Misuse, ParameterError, Rule};
pub use limits::Limits;
pub use signal::{Convention, Domain, FrameRate, Kind, Layout, SignalInfo};
