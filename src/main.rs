//! The `scone` command line (feature `cli`): a thin user of the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::alloc::keep_freed_memory();
    cli::main()
}
