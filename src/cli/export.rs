//! `scone export`: a file's network as JSON, with sample points and this
//! decoder's outputs at them, for checks against other implementations
//! (tools/reference/ checks PyTorch's).

use super::output::{check_not_input, write_atomic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use scone::Error;
use scone::eval::{Evaluator, eval_reference};
use scone::format::SconeFile;
use serde_json::json;
use std::path::PathBuf;

/// Most sample points an export may hold.
const MAX_POINTS: usize = 1_000_000;

#[derive(clap::Args)]
pub struct Args {
    /// The .scone file.
    input: PathBuf,
    /// Output JSON file (default: the input's name with `.json`).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Random sample points in [−1, 1]^d, besides the 2^d corners and the
    /// centre.
    #[arg(long, default_value_t = 1000)]
    points: usize,
    /// Seed of the sample points.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(args: Args) -> Result<(), Error> {
    if args.points > MAX_POINTS {
        return Err(Error::parameter(format!(
            "--points is limited to {MAX_POINTS}"
        )));
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.input.with_extension("json"));
    check_not_input(&args.input, &output)?;
    let file = SconeFile::read(&args.input)?;
    let net = &file.network;
    let arch = &net.arch;
    let d = arch.in_dims;
    let mut coords: Vec<f32> = Vec::new();
    for corner in 0..1usize << d {
        coords.extend((0..d).map(|k| if corner >> k & 1 == 1 { 1.0 } else { -1.0 }));
    }
    coords.extend(std::iter::repeat_n(0.0, d));
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    coords.extend((0..args.points * d).map(|_| rng.random_range(-1.0f32..=1.0)));
    let mut outputs = vec![0f32; coords.len() / d * arch.out_dims];
    Evaluator::new(net)?.eval(&coords, &mut outputs)?;
    let coords64: Vec<f64> = coords.iter().map(|&c| c as f64).collect();
    let reference = eval_reference(net, &coords64);
    let params: serde_json::Map<String, serde_json::Value> = arch
        .hyperparameters()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), super::info::hyper_json(&v)))
        .collect();
    let tensors: Vec<_> = net
        .tensors
        .iter()
        .map(|t| json!({"name": t.name, "shape": t.shape, "data": t.data}))
        .collect();
    let doc = json!({
        "arch": {
            "name": arch.name(),
            "in_dims": d,
            "out_dims": arch.out_dims,
            "params": params,
        },
        "tensors": tensors,
        "coords": coords,
        "outputs": outputs,
        "reference": reference,
    });
    write_atomic(&output, |w| {
        use std::io::Write;
        serde_json::to_writer(&mut *w, &doc)
            .and_then(|()| w.write_all(b"\n").map_err(serde_json::Error::io))
            .map_err(|e| Error::Io {
                path: Some(output.clone()),
                source: e.into(),
            })
    })?;
    Ok(())
}
