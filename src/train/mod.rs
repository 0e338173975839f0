//! The encoder's fitting (feature `train`): fits a network to
//! (coordinate, target) pairs on the CPU or (feature `cuda`) an NVIDIA GPU.
//!
//! SCONE with the sin² mask (the default and the paper's network) trains on
//! the crate's own engines: `host` on the CPU (hand-written forward,
//! backward and Adam over fused kernels, both cores busy) and
//! [`crate::cuda`]'s on a GPU (the same steps over cuBLAS and its kernels),
//! which also trains SIREN. Every other network, and SIREN on the CPU,
//! trains with burn's autodiff (`autodiff`): the Flex backend on the CPU,
//! burn-cuda on a GPU. burn's autodiff is the reference the host engine's
//! gradients are tested against, and the CUDA engine's for SIREN; the host
//! engine is the CUDA engine's reference for SCONE.
//!
//! By job: [`data`](TrainData) (the pairs and the schedule), `fit` (the
//! loop and the choice of engine), `host`, `kernels` and `sgemm` (the CPU
//! engine), `autodiff` and `model` (burn). The public API is free of burn
//! types so that callers need not pick a backend: [`fit`] takes a plain
//! [`Network`](crate::model::Network) and returns one.

pub(crate) mod autodiff;
mod data;
pub(crate) mod fit;
pub mod grid;
#[cfg(any(test, feature = "cuda"))]
pub(crate) mod grid_burn;
pub(crate) mod host;
mod kernels;
mod model;
mod sgemm;

pub use crate::device::Device;
pub use crate::model::init_network;
pub use autodiff::BurnEvaluator;
#[cfg(feature = "cuda")]
pub use autodiff::cuda_evaluator;
pub use data::{Batch, GridData, IndexedData, Quantisation, TrainConfig, TrainData};
pub use fit::{DEVICE_PAIRS, StepReport, fit, fit_quantised, trains_quantised};
pub use model::NetModel;

#[cfg(test)]
mod tests;
