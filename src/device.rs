//! Where networks are trained and evaluated: the CPU, or (feature `cuda`)
//! an NVIDIA GPU (see docs/gpu.md).
//!
//! A build without the feature still parses `--device`: `auto` then means
//! the CPU, and `cuda` is an error that says how to get CUDA support.

use crate::Error;

/// What the user asked for (`--device`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA when a driver and a device are found, else the CPU.
    Auto,
    /// The CPU, all cores.
    Cpu,
    /// The first NVIDIA GPU; an error if there is none.
    Cuda,
}

impl DeviceChoice {
    /// The names `--device` accepts, in [`DeviceChoice::from_name`]'s order.
    pub const NAMES: [&'static str; 3] = ["auto", "cpu", "cuda"];

    /// Parses one of [`DeviceChoice::NAMES`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Self::Auto),
            "cpu" => Some(Self::Cpu),
            "cuda" => Some(Self::Cuda),
            _ => None,
        }
    }
}

/// Where work runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// The CPU, all cores.
    Cpu,
    /// The first NVIDIA GPU (needs feature `cuda`).
    Cuda,
}

/// Resolves `choice` to a device. With [`DeviceChoice::Auto`] and a build
/// that supports CUDA but finds no usable GPU, the second value is the one
/// line to tell the user (why the CPU is used instead).
pub fn resolve(choice: DeviceChoice) -> Result<(Device, Option<String>), Error> {
    match choice {
        DeviceChoice::Cpu => Ok((Device::Cpu, None)),
        DeviceChoice::Cuda => match cuda_device_name() {
            Ok(_) => Ok((Device::Cuda, None)),
            Err(why) => Err(Error::Device(format!("--device cuda: {why}"))),
        },
        DeviceChoice::Auto if !cfg!(feature = "cuda") => Ok((Device::Cpu, None)),
        DeviceChoice::Auto => match cuda_device_name() {
            Ok(_) => Ok((Device::Cuda, None)),
            Err(why) => Ok((Device::Cpu, Some(format!("{why}; using the CPU")))),
        },
    }
}

/// The name of the GPU [`Device::Cuda`] uses, or why there is none usable.
/// The answer is worked out once per process.
pub fn cuda_device_name() -> Result<String, String> {
    #[cfg(feature = "cuda")]
    {
        crate::cuda::device_name()
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err("this build has no CUDA support; rebuild with --features cuda".into())
    }
}
