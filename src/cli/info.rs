//! `scone info`: print what a file holds.

use scone::Error;
use scone::format::SconeFile;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The .scone file to describe.
    input: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<(), Error> {
    let file = SconeFile::read(&args.input)?;
    let raw = std::fs::read(&args.input).map_err(|e| Error::io(&args.input, e))?;
    let stored = scone::format::stored_weights(&raw)?;
    let report = describe(&file, raw.len() as u64, &stored);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("JSON values serialise")
        );
    } else {
        print_text(&report);
    }
    Ok(())
}

/// Everything `info` reports, as JSON.
pub fn describe(
    file: &SconeFile,
    bytes: u64,
    stored: &scone::format::StoredWeights,
) -> serde_json::Value {
    let s = &file.signal;
    let a = &file.network.arch;
    let samples: u64 = s.sizes.iter().map(|&n| n as u64).product();
    let tensors: Vec<_> = file
        .network
        .tensors
        .iter()
        .zip(&stored.tensors)
        .map(|(t, st)| {
            let mut v = json!({"name": t.name, "shape": t.shape,
                "encoding": st.encoding.name(), "bits": 8 * st.bytes,
                "bits_per_value": 8.0 * st.bytes as f64 / st.values.max(1) as f64});
            if let scone::format::Encoding::Coded { step } = st.encoding {
                v["step"] = json!(step);
            }
            v
        })
        .collect();
    let metadata = file
        .metadata
        .as_deref()
        .map(|m| serde_json::from_str(m).unwrap_or_else(|_| json!(m)));
    let mut signal = json!({
        "kind": s.kind.name(),
        "sizes": s.sizes,
        "layout": s.layout.name(),
        "channels": s.channels(),
        "bit_depth": s.bit_depth,
        "value_range": s.value_range,
        "convention": s.convention.name(),
    });
    if let Some(r) = s.frame_rate {
        signal["frame_rate"] = json!(format!("{}/{}", r.num, r.den));
        signal["fps"] = json!(r.fps());
    }
    if let Some(d) = s.domain {
        signal["domain_centre"] = json!(d.centre);
        signal["domain_half_extent"] = json!(d.half_extent);
    }
    let mut architecture = json!({
        "name": a.name(),
        "in_dims": a.in_dims,
        "out_dims": a.out_dims,
        "parameters": file.network.parameter_count(),
        "trained_parameters": a.trainable_count(),
    });
    for (key, value) in a.hyperparameters() {
        architecture[key] = hyper_json(&value);
    }
    let grids: Vec<_> = a
        .tensor_specs()
        .iter()
        .filter(|t| t.latent)
        .map(|t| json!([t.shape[1], t.shape[0]]))
        .collect();
    let latents = (!grids.is_empty()).then(|| {
        let values = a.latent_count();
        json!({"grids": grids, "values": values, "bytes": stored.latent_bytes,
               "bits_per_value": 8.0 * stored.latent_bytes as f64 / values.max(1) as f64})
    });
    json!({
        "latents": latents,
        "file_bytes": bytes,
        "bits_per_sample_point": 8.0 * bytes as f64 / samples as f64,
        "signal": signal,
        "architecture": architecture,
        "tensors": tensors,
        "weights": {"compression": stored.compression, "stored_bytes": stored.raw_bytes,
                    "packed_bytes": stored.packed_bytes},
        "metadata": metadata,
    })
}

/// A hyperparameter as JSON (also used by `scone export`).
pub(super) fn hyper_json(v: &scone::model::HyperValue) -> serde_json::Value {
    use scone::model::HyperValue::*;
    match v {
        U32(n) => json!(n),
        F32(x) => json!(x),
        F32s(xs) => json!(xs),
        Str(s) => json!(s),
    }
}

fn print_text(r: &serde_json::Value) {
    let s = &r["signal"];
    let a = &r["architecture"];
    println!(
        "signal:       {} {} {} ({} bit, {} channels, {} grid)",
        s["kind"].as_str().unwrap_or(""),
        s["sizes"]
            .as_array()
            .map(|v| v
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("x"))
            .unwrap_or_default(),
        s["layout"].as_str().unwrap_or(""),
        s["bit_depth"],
        s["channels"],
        s["convention"].as_str().unwrap_or(""),
    );
    if let Some(fps) = s["fps"].as_f64() {
        println!(
            "frame rate:   {} ({fps:.3} fps)",
            s["frame_rate"].as_str().unwrap_or("")
        );
    }
    if !s["domain_centre"].is_null() {
        println!(
            "domain:       centre {}, half extent {} (the source's units)",
            s["domain_centre"], s["domain_half_extent"]
        );
    }
    let extra: Vec<String> = a
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| {
            ![
                "name",
                "in_dims",
                "out_dims",
                "layers",
                "hidden",
                "parameters",
                "trained_parameters",
            ]
            .contains(&k.as_str())
        })
        .map(|(k, v)| match v.as_str() {
            Some(s) => format!("{k} {s}"),
            None => format!("{k} {v}"),
        })
        .collect();
    println!(
        "architecture: {} {} layers x {} hidden, {}",
        a["name"].as_str().unwrap_or(""),
        a["layers"],
        a["hidden"],
        extra.join(", "),
    );
    println!("parameters:   {}", a["parameters"]);
    println!(
        "size:         {} bytes ({:.3} bits per grid sample)",
        r["file_bytes"],
        r["bits_per_sample_point"].as_f64().unwrap_or(0.0)
    );
    let w = &r["weights"];
    println!(
        "tensors:      {} bytes stored, {} bytes packed (compression {})",
        w["stored_bytes"],
        w["packed_bytes"],
        w["compression"].as_str().unwrap_or("")
    );
    for t in r["tensors"].as_array().into_iter().flatten() {
        println!(
            "  {:<24} {:<12} {:<8} {:>9} bits {:>6.2} bits/value",
            t["name"].as_str().unwrap_or(""),
            t["shape"].to_string(),
            t["encoding"].as_str().unwrap_or(""),
            t["bits"],
            t["bits_per_value"].as_f64().unwrap_or(0.0)
        );
    }
    let l = &r["latents"];
    if !l.is_null() {
        let sizes: Vec<String> = l["grids"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| format!("{}x{}", g[0], g[1]))
            .collect();
        println!(
            "latent grids: {} ({} values), {} bytes coded ({:.3} bits/value)",
            sizes.join(" "),
            l["values"],
            l["bytes"],
            l["bits_per_value"].as_f64().unwrap_or(0.0)
        );
    }
    if !r["metadata"].is_null() {
        println!("metadata:     {}", r["metadata"]);
    }
}
