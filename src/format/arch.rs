//! The `ARCH` chunk (FORMAT.md §5): a name and typed hyperparameters.

use super::bytes::{Reader, put_ascii};
use crate::model::{Arch, HyperValue, MAX_LAYERS};
use crate::{Error, Rule};

/// Hyperparameter value types (FORMAT.md §5.1).
const T_U32: u8 = 1;
const T_F32: u8 = 2;
const T_F32_ARRAY: u8 = 3;
const T_STR: u8 = 4;

/// Largest number of hyperparameters in one chunk.
const MAX_PARAMS: u8 = 64;

pub fn encode(a: &Arch) -> Vec<u8> {
    let mut out = Vec::new();
    put_ascii(&mut out, a.name());
    out.push(a.in_dims as u8);
    out.push(a.out_dims as u8);
    let params = a.hyperparameters();
    out.push(params.len() as u8);
    for (key, value) in params {
        put_ascii(&mut out, key);
        match value {
            HyperValue::U32(v) => {
                out.push(T_U32);
                out.extend_from_slice(&v.to_le_bytes());
            }
            HyperValue::F32(v) => {
                out.push(T_F32);
                out.extend_from_slice(&v.to_le_bytes());
            }
            HyperValue::F32s(values) => {
                out.push(T_F32_ARRAY);
                out.extend_from_slice(&(values.len() as u16).to_le_bytes());
                for w in values {
                    out.extend_from_slice(&w.to_le_bytes());
                }
            }
            HyperValue::Str(s) => {
                out.push(T_STR);
                put_ascii(&mut out, &s);
            }
        }
    }
    out
}

pub fn decode(payload: &[u8]) -> Result<Arch, Error> {
    let mut r = Reader::new(payload, "ARCH");
    let name = r.ascii(32, Rule::ArchName, "architecture name")?;
    let in_dims = r.u8()? as usize;
    let out_dims = r.u8()? as usize;
    let count = r.u8()?;
    if count > MAX_PARAMS {
        return Err(Error::format(
            Rule::HyperCount,
            format!("{count} hyperparameters exceed the format's {MAX_PARAMS}"),
        ));
    }
    let mut params: Vec<(&str, HyperValue)> = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let key = r.ascii(32, Rule::HyperKey, "hyperparameter key")?;
        if params.iter().any(|(k, _)| *k == key) {
            return Err(Error::format(
                Rule::HyperKey,
                format!("hyperparameter `{key}` is repeated"),
            ));
        }
        let value = match r.u8()? {
            T_U32 => HyperValue::U32(r.u32()?),
            T_F32 => HyperValue::F32(r.f32()?),
            T_F32_ARRAY => {
                let n = r.u16()? as usize;
                if n > MAX_LAYERS {
                    return Err(Error::format(
                        Rule::HyperType,
                        format!("array `{key}` has {n} values, the format's most is {MAX_LAYERS}"),
                    ));
                }
                HyperValue::F32s((0..n).map(|_| r.f32()).collect::<Result<_, _>>()?)
            }
            T_STR => HyperValue::Str(r.ascii(32, Rule::HyperValue, "string value")?.to_owned()),
            t => {
                return Err(Error::format(
                    Rule::HyperType,
                    format!("hyperparameter `{key}` has unknown type {t}"),
                ));
            }
        };
        params.push((key, value));
    }
    r.finish()?;
    let mut take = |key: &str| {
        let i = params.iter().position(|(k, _)| *k == key).ok_or_else(|| {
            Error::format(
                Rule::HyperKey,
                format!("architecture `{name}` lacks hyperparameter `{key}`"),
            )
        })?;
        Ok(params.swap_remove(i).1)
    };
    let arch = Arch::from_hyperparameters(name, in_dims, out_dims, &mut take)?;
    if let Some((key, _)) = params.first() {
        return Err(Error::format(
            Rule::HyperKey,
            format!("unknown hyperparameter `{key}` for `{name}`"),
        ));
    }
    Ok(arch)
}
