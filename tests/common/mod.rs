//! Helpers shared by the integration tests that run the `scone` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `scone` with `args`.
pub fn scone(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scone"))
        .args(args)
        .output()
        .expect("scone runs")
}

/// `samples/<rel>`.
pub fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(rel)
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts a failure with exactly one line on stderr mentioning `needle`,
/// and no panic.
pub fn assert_fails(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
