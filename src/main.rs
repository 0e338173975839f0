use std::process::ExitCode;

fn main() -> ExitCode {
    scone::cli::main()
}
