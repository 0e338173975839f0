//! The `scone` command line.

pub mod alloc;
mod decode;
#[cfg(feature = "train")]
mod encode;
mod eval;
mod export;
mod info;
mod mesh;
mod output;

use clap::{Parser, Subcommand};
use scone::Error;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "scone",
    version,
    about = "Signals stored as SCONE neural networks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit a network to an image, a clip or a 3D shape and write a .scone file.
    #[cfg(feature = "train")]
    Encode(Box<encode::Args>),
    /// Evaluate a .scone image or clip on a grid of any size and write PNG or y4m.
    Decode(decode::Args),
    /// Extract a mesh from a .scone signed-distance field or a .npy SDF volume.
    Mesh(mesh::Args),
    /// Measure a .scone file against its source: PSNR/SSIM, or IoU/Chamfer.
    Eval(eval::Args),
    /// Print what a .scone file holds.
    Info(info::Args),
    /// Write a file's network, sample points and decoded outputs as JSON.
    Export(export::Args),
}

/// Runs the command line; every failure is one line on stderr and exit
/// status 1 (2 for a usage error).
pub fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("scone: {}", first.trim_start_matches("error: ").trim());
            return ExitCode::from(2);
        }
    };
    // `decode` and `mesh` lift the request limits with --force.
    let forceable = matches!(cli.command, Command::Decode(_) | Command::Mesh(_));
    let result = match cli.command {
        #[cfg(feature = "train")]
        Command::Encode(args) => encode::run(*args),
        Command::Decode(args) => decode::run(args),
        Command::Mesh(args) => mesh::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Info(args) => info::run(args),
        Command::Export(args) => export::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let hint = match &e {
                Error::LimitsExceeded(l) if forceable && l.limit.is_request_limit() => {
                    "; pass --force to decode it anyway"
                }
                _ => "",
            };
            eprintln!("scone: error: {}{hint}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// Parses a frame rate: an integer or `num/den`, both positive.
pub fn parse_rate(s: &str) -> Result<(u32, u32), String> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    match (n.trim().parse::<u32>(), d.trim().parse::<u32>()) {
        (Ok(n), Ok(d)) if n > 0 && d > 0 => Ok((n, d)),
        _ => Err(format!("`{s}` is not a frame rate like 25 or 30000/1001")),
    }
}

/// Lets `scone info | head` end quietly when the pipe closes, as other
/// command-line tools do, instead of failing on a write to a closed pipe.
fn restore_sigpipe() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL
    // is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The device `--device NAME` resolves to (docs/gpu.md), and, when `auto`
/// falls back to the CPU, the line that says why. `encode` prints that line
/// when training starts, after its input has been read; `decode` and
/// `mesh` once they have succeeded. A bad input so keeps its single error
/// line.
pub(crate) fn resolve_device(name: &str) -> Result<(scone::device::Device, Option<String>), Error> {
    use scone::device::DeviceChoice;
    let choice = DeviceChoice::from_name(name)
        .ok_or_else(|| Error::parameter(format!("`{name}` is not a device: auto, cpu or cuda")))?;
    scone::device::resolve(choice)
}

/// Opens `path` for decoding on the device `--device NAME` asks for, with
/// the default limits or, with `force`, without the request limits, and
/// returns it with [`resolve_device`]'s note, which the caller prints
/// ([`say_note`]) once the whole command has succeeded.
pub(crate) fn open_decoder(
    path: &std::path::Path,
    force: bool,
    device: &str,
) -> Result<(scone::Decoder, Option<String>), Error> {
    use scone::device::Device;
    let (mut device, mut note) = resolve_device(device)?;
    let mut limits = scone::Limits::default();
    if force {
        limits = limits.without_request_limits();
    }
    #[allow(unused_mut)]
    let mut decoder = scone::Decoder::builder().limits(limits).open(path)?;
    if device == Device::Cuda
        && matches!(
            decoder.network().arch.family,
            scone::model::Family::Grid { .. }
        )
    {
        // Its decoder (the latents' interpolation) runs on the CPU only.
        device = Device::Cpu;
        note = Some("grid networks decode on the CPU".into());
    }
    match device {
        Device::Cpu => {}
        #[cfg(feature = "cuda")]
        Device::Cuda => decoder.set_engine(scone::train::cuda_evaluator(decoder.network())?)?,
        #[cfg(not(feature = "cuda"))]
        Device::Cuda => unreachable!("without CUDA support --device never resolves to CUDA"),
    }
    Ok((decoder, note))
}

/// Prints `--device auto`'s fallback note on stderr, unless `quiet`.
pub(crate) fn say_note(note: Option<String>, quiet: bool) {
    if let Some(note) = note.filter(|_| !quiet) {
        eprintln!("scone: {note}");
    }
}

fn one_line(e: &Error) -> String {
    e.to_string().replace('\n', " ")
}
