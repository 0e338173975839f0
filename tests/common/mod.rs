//! Helpers shared by the integration tests that run the `scone` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `scone` with `args`: the binary in `SCONE_BIN` if set (test
/// binaries carried to another machine, tools/gpu_check.sh), else Cargo's.
pub fn scone(args: &[&str]) -> Output {
    let bin = std::env::var_os("SCONE_BIN").unwrap_or(env!("CARGO_BIN_EXE_scone").into());
    Command::new(bin).args(args).output().expect("scone runs")
}

/// `samples/<rel>` of the crate in `SCONE_ROOT` if set, else of this one.
pub fn sample(rel: &str) -> PathBuf {
    let root = std::env::var_os("SCONE_ROOT").unwrap_or(env!("CARGO_MANIFEST_DIR").into());
    Path::new(&root).join("samples").join(rel)
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

/// Asserts success and returns stdout.
#[allow(dead_code)]
pub fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts success and parses stdout as JSON (`info --json`, `eval --json`).
#[allow(dead_code)]
pub fn json_of(out: &Output) -> serde_json::Value {
    let stdout = assert_ok(out);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// Asserts a run-time error: [`assert_fails`], exit status 1 and the
/// `scone: error: ` prefix (usage errors exit 2 instead).
#[allow(dead_code)]
pub fn assert_error(out: &Output, needle: &str) {
    assert_fails(out, needle);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("scone: error: "), "{stderr}");
}
