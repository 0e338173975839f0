//! Replays the fuzz targets' seeds and findings (tests/fuzz/harness.rs):
//! every input a fuzzer ever failed on is kept under
//! tests/fuzz/findings/<target>/ and must pass forever after. The fuzzers
//! themselves run under tools/fuzz.sh, not here.

#[path = "fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn run(target: &str, name: &str, bytes: &[u8]) {
    let body = harness::TARGETS
        .iter()
        .find(|(t, _)| *t == target)
        .unwrap_or_else(|| panic!("tests/fuzz/findings/{target}: no such fuzz target"))
        .1;
    if let Err(panic) = std::panic::catch_unwind(|| body(bytes)) {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!("fuzz target `{target}` fails on {name}: {why}");
    }
}

#[test]
fn every_seed_passes_its_target() {
    for (target, _) in harness::TARGETS {
        let seeds = harness::seeds(target);
        assert!(!seeds.is_empty(), "`{target}` has no seeds");
        for (name, bytes) in seeds {
            run(target, &name, &bytes);
        }
    }
}

#[test]
fn every_finding_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/findings");
    let mut count = 0;
    for target in std::fs::read_dir(&root).unwrap() {
        let target = target.unwrap().path();
        let name = target.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&target).unwrap() {
            let file = file.unwrap().path();
            run(
                &name,
                &file.display().to_string(),
                &std::fs::read(&file).unwrap(),
            );
            count += 1;
        }
    }
    assert!(count > 0, "no findings under {}", root.display());
}

/// Writes every target's seeds under `$SCONE_FUZZ_CORPUS/<target>/`, where
/// tools/fuzz.sh starts the fuzzers from.
#[test]
#[ignore = "run by tools/fuzz.sh"]
fn write_seed_corpora() {
    let out = std::env::var_os("SCONE_FUZZ_CORPUS").expect("SCONE_FUZZ_CORPUS names a folder");
    for (target, _) in harness::TARGETS {
        let dir = Path::new(&out).join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in harness::seeds(target) {
            std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
        }
    }
}

/// Every hostile input (claims of 10⁹ vertices, faces or weights, huge
/// frames, canvases and shapes, a trillion latent symbols) is refused
/// with one error, but for the valid `bounded-…` ones; tools/hostile.sh measures the time and memory each
/// refusal takes.
#[test]
fn hostile_inputs_are_refused() {
    for (name, bytes) in harness::hostile_inputs() {
        let start = std::time::Instant::now();
        let result = std::panic::catch_unwind(|| harness::read_hostile(&name, &bytes));
        match result {
            Ok(Err(e)) => {
                let message = e.to_string();
                assert!(
                    !message.is_empty() && !message.contains('\n'),
                    "{name}: {message:?}"
                );
                eprintln!("{name}: {:.3} s: {message}", start.elapsed().as_secs_f64());
            }
            Ok(Ok(())) if name.starts_with("bounded-") => {
                eprintln!("{name}: {:.3} s: read", start.elapsed().as_secs_f64());
            }
            Ok(Ok(())) => panic!("{name} was accepted"),
            Err(_) => panic!("{name} panicked"),
        }
    }
}

/// Writes the hostile inputs under `$SCONE_HOSTILE_DIR` for
/// tools/hostile.sh.
#[test]
#[ignore = "run by tools/hostile.sh"]
fn write_hostile_inputs() {
    let out = std::env::var_os("SCONE_HOSTILE_DIR").expect("SCONE_HOSTILE_DIR names a folder");
    std::fs::create_dir_all(&out).unwrap();
    for (name, bytes) in harness::hostile_inputs() {
        std::fs::write(Path::new(&out).join(name), bytes).unwrap();
    }
}

/// The `obj` fuzzer's finding: tobj resolves face indices with unchecked
/// arithmetic, so a relative normal index reaching before the first normal
/// overflows (a panic with debug assertions; in a release build it wraps
/// and tobj reads some other normal). scone checks every index before
/// tobj reads them, and names the line, whatever the build.
#[test]
fn obj_indices_that_would_wrap_are_refused() {
    let finding = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz/findings/obj/relative-normal-index-wraps.obj"),
    )
    .unwrap();
    let square = "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\n";
    for (what, bytes) in [
        ("the finding", finding),
        (
            "an absolute index of 2⁶⁴/3",
            format!("{square}f 1 2 6148914691236517207\n").into(),
        ),
        (
            "a relative vertex index before the first",
            format!("{square}f -4 -2 -1\n").into(),
        ),
        (
            "a relative normal index before the first",
            format!("{square}f 1//-2 2//-1 3//-1\n").into(),
        ),
        ("index zero", format!("{square}f 0 1 2\n").into()),
    ] {
        let e = harness::read_hostile("finding.obj", &bytes).expect_err(what);
        assert!(e.to_string().contains("refers to no"), "{what}: {e}");
    }
    for ok in ["f -3 -2 -1\n", "f 1//1 2//-1 3//1\n", "f 1 2 3\n"] {
        harness::read_hostile("ok.obj", format!("{square}{ok}").as_bytes())
            .unwrap_or_else(|e| panic!("{ok:?}: {e}"));
    }
}

/// The `decoder` fuzzer's finding: a clip schedule of `Frames(m)` computed
/// its output rate as `rate · (m − 1)` in u64 before checking `m`, which
/// overflows for a huge m (a panic with debug assertions). With the
/// request limits lifted (`--force`), a huge count then reached the
/// allocation of the positions: an abort, not an error. Now the rates are
/// u128 and the positions' memory is reserved fallibly.
#[test]
fn huge_frame_counts_are_errors_with_or_without_limits() {
    let clip = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/vectors/video-rgb-endpoints-ntsc.scone");
    let bytes = std::fs::read(&clip).unwrap();
    let limited = scone::Decoder::from_bytes(&bytes).unwrap();
    let lifted = scone::Decoder::builder()
        .limits(scone::Limits::default().without_request_limits())
        .from_bytes(&bytes)
        .unwrap();
    for m in [u64::MAX, 1 << 62, 1 << 50] {
        let request = scone::ClipRequest::Frames(m);
        assert!(
            limited.schedule(request).is_err(),
            "{m} frames within the limits"
        );
        let e = lifted
            .schedule(request)
            .expect_err("no memory for the positions");
        assert!(e.to_string().contains("no memory"), "{m}: {e}");
    }
    // What the integer arithmetic exists for still holds: whole source
    // frames land exactly on whole positions.
    let source = lifted.info().sizes[2] as u64;
    let s = lifted
        .schedule(scone::ClipRequest::Frames(2 * source - 1))
        .unwrap();
    for (k, &u) in s.positions.iter().enumerate().step_by(2) {
        assert_eq!(u, (k / 2) as f64);
    }
}
