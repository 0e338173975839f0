//! The `scone` command line.

mod decode;
#[cfg(feature = "train")]
mod encode;
mod info;
mod output;

use crate::Error;
use clap::{Parser, Subcommand};
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
    /// Fit a network to an image (PNG or JPEG) and write a .scone file.
    #[cfg(feature = "train")]
    Encode(encode::Args),
    /// Evaluate a .scone file on a grid of any size and write a PNG.
    Decode(decode::Args),
    /// Print what a .scone file holds.
    Info(info::Args),
}

/// Runs the command line; every failure is one line on stderr and exit
/// status 1 (2 for a usage error).
pub fn main() -> ExitCode {
    crate::alloc::keep_freed_memory();
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
    let result = match cli.command {
        #[cfg(feature = "train")]
        Command::Encode(args) => encode::run(args),
        Command::Decode(args) => decode::run(args),
        Command::Info(args) => info::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scone: error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

fn one_line(e: &Error) -> String {
    e.to_string().replace('\n', " ")
}
