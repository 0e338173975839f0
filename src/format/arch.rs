//! The `ARCH` chunk (FORMAT.md §5): a name and typed hyperparameters.

use super::bytes::{Reader, put_ascii};
use crate::Error;
use crate::model::{Arch, MAX_LAYERS, Mask};

/// Hyperparameter value types (FORMAT.md §5.1).
const T_U32: u8 = 1;
const T_F32: u8 = 2;
const T_F32_ARRAY: u8 = 3;
const T_STR: u8 = 4;

/// Largest number of hyperparameters in one chunk.
const MAX_PARAMS: u8 = 64;

#[derive(Debug)]
enum Value<'a> {
    U32(u32),
    F32(f32),
    F32s(Vec<f32>),
    Str(&'a str),
}

pub fn encode(a: &Arch) -> Vec<u8> {
    let mut out = Vec::new();
    put_ascii(&mut out, a.name());
    out.push(a.in_dims as u8);
    out.push(a.out_dims as u8);
    out.push(5); // parameter count
    put_ascii(&mut out, "layers");
    out.push(T_U32);
    out.extend_from_slice(&(a.layers as u32).to_le_bytes());
    put_ascii(&mut out, "hidden");
    out.push(T_U32);
    out.extend_from_slice(&(a.hidden as u32).to_le_bytes());
    put_ascii(&mut out, "omega0");
    out.push(T_F32);
    out.extend_from_slice(&a.omega0.to_le_bytes());
    put_ascii(&mut out, "omegas");
    out.push(T_F32_ARRAY);
    out.extend_from_slice(&(a.omegas.len() as u16).to_le_bytes());
    for w in &a.omegas {
        out.extend_from_slice(&w.to_le_bytes());
    }
    put_ascii(&mut out, "mask");
    out.push(T_STR);
    put_ascii(&mut out, a.mask.name());
    out
}

pub fn decode(payload: &[u8]) -> Result<Arch, Error> {
    let mut r = Reader::new(payload, "ARCH");
    let name = r.ascii(32)?;
    if name != "scone" {
        return Err(Error::Format(format!("unknown architecture `{name}`")));
    }
    let in_dims = r.u8()? as usize;
    let out_dims = r.u8()? as usize;
    let count = r.u8()?;
    if count > MAX_PARAMS {
        return Err(Error::Format(format!(
            "{count} hyperparameters exceed the limit of {MAX_PARAMS}"
        )));
    }
    let mut params: Vec<(&str, Value)> = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let key = r.ascii(32)?;
        if params.iter().any(|(k, _)| *k == key) {
            return Err(Error::Format(format!("hyperparameter `{key}` is repeated")));
        }
        let value = match r.u8()? {
            T_U32 => Value::U32(r.u32()?),
            T_F32 => Value::F32(r.f32()?),
            T_F32_ARRAY => {
                let n = r.u16()? as usize;
                if n > MAX_LAYERS {
                    return Err(Error::Format(format!(
                        "array `{key}` has {n} values, the limit is {MAX_LAYERS}"
                    )));
                }
                Value::F32s((0..n).map(|_| r.f32()).collect::<Result<_, _>>()?)
            }
            T_STR => Value::Str(r.ascii(32)?),
            t => {
                return Err(Error::Format(format!(
                    "hyperparameter `{key}` has unknown type {t}"
                )));
            }
        };
        params.push((key, value));
    }
    r.finish()?;
    let mut take = |key: &str| {
        let i = params.iter().position(|(k, _)| *k == key).ok_or_else(|| {
            Error::Format(format!(
                "architecture `{name}` lacks hyperparameter `{key}`"
            ))
        })?;
        Ok::<_, Error>(params.swap_remove(i).1)
    };
    let wrong = |key: &str| Error::Format(format!("hyperparameter `{key}` has the wrong type"));
    let layers = match take("layers")? {
        Value::U32(v) => v as usize,
        _ => return Err(wrong("layers")),
    };
    let hidden = match take("hidden")? {
        Value::U32(v) => v as usize,
        _ => return Err(wrong("hidden")),
    };
    let omega0 = match take("omega0")? {
        Value::F32(v) => v,
        _ => return Err(wrong("omega0")),
    };
    let omegas = match take("omegas")? {
        Value::F32s(v) => v,
        _ => return Err(wrong("omegas")),
    };
    let mask = match take("mask")? {
        Value::Str(s) => Mask::from_name(s)?,
        _ => return Err(wrong("mask")),
    };
    if let Some((key, _)) = params.first() {
        return Err(Error::Format(format!(
            "unknown hyperparameter `{key}` for `{name}`"
        )));
    }
    let arch = Arch {
        in_dims,
        out_dims,
        layers,
        hidden,
        omega0,
        omegas,
        mask,
    };
    arch.validate()?;
    Ok(arch)
}
