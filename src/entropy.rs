//! Entropy coding (FORMAT.md §6.4): integers in −M … M under a two-sided
//! geometric model whose probability table is built in integer arithmetic,
//! coded by rANS over 32-bit words (constriction's `DefaultAnsCoder`: a
//! 64-bit state, 24-bit probabilities).
//!
//! Every platform builds the same table from the same two parameters, so
//! every decoder reads the same symbols; [`reference_decode`] is the
//! decoder written from FORMAT.md alone, the slow twin the tests hold
//! constriction's to.

use constriction::stream::Decode;
use constriction::stream::model::DefaultContiguousCategoricalEntropyModel;
use constriction::stream::stack::DefaultAnsCoder;

/// Bits of the probability tables: frequencies sum to 2²⁴.
pub const PRECISION: u32 = 24;
/// The largest magnitude M a model may have (FORMAT.md §6.4).
pub const MAX_MAGNITUDE: u16 = 32767;

/// A two-sided geometric distribution over the integers −M … M:
/// P(q) ∝ ρ^|q| with ρ = `ratio` / 65536, as FORMAT.md §6.4 builds it in
/// integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometric {
    /// ρ · 65536, 1 … 65535.
    pub ratio: u16,
    /// M, the largest magnitude, 0 … [`MAX_MAGNITUDE`].
    pub max: u16,
}

impl Geometric {
    /// The model, or why its parameters are outside FORMAT.md §6.4's
    /// ranges.
    pub fn new(ratio: u16, max: u16) -> Result<Self, String> {
        if ratio == 0 {
            return Err("a geometric model's ratio must be at least 1".into());
        }
        if max > MAX_MAGNITUDE {
            return Err(format!(
                "a geometric model's largest magnitude {max} exceeds {MAX_MAGNITUDE}"
            ));
        }
        Ok(Self { ratio, max })
    }

    /// Bits the model adds per unit of magnitude far from zero: −log₂ ρ.
    pub fn bits_per_step(&self) -> f64 {
        -(self.ratio as f64 / 65536.0).log2()
    }

    /// Symbols in the model: 2M + 1.
    pub fn symbols(&self) -> usize {
        2 * self.max as usize + 1
    }

    /// The frequencies f(q) of q = −M … M, in that order, summing to
    /// 2^[`PRECISION`], each at least 1 (FORMAT.md §6.4):
    /// w₀ = 2³², w_{k+1} = ⌊w_k · ratio / 2¹⁶⌋, T = w₀ + 2·Σ_{k=1}^{M} w_k,
    /// f(q) = 1 + ⌊w_{|q|} · (2²⁴ − n) / T⌋, and what the floors leave
    /// over goes to f(0).
    pub fn frequencies(&self) -> Vec<u32> {
        let m = self.max as usize;
        let n = self.symbols() as u64;
        let mut w = Vec::with_capacity(m + 1);
        let mut wk: u64 = 1 << 32;
        for _ in 0..=m {
            w.push(wk);
            wk = (wk * self.ratio as u64) >> 16;
        }
        let total: u64 = w[0] + 2 * w[1..].iter().sum::<u64>();
        let spare = (1u64 << PRECISION) - n;
        let f = |k: usize| 1 + (w[k] * spare / total) as u32;
        let mut out: Vec<u32> = (0..self.symbols()).map(|i| f(i.abs_diff(m))).collect();
        let sum: u64 = out.iter().map(|&v| v as u64).sum();
        out[m] += ((1u64 << PRECISION) - sum) as u32;
        out
    }

    /// The coder's model of this distribution.
    fn model(&self) -> DefaultContiguousCategoricalEntropyModel {
        DefaultContiguousCategoricalEntropyModel::from_nonzero_fixed_point_probabilities(
            self.frequencies(),
            false,
        )
        .expect("frequencies built to sum to 2^24, each nonzero")
    }

    /// Bits the coder spends on `counts[k]` symbols of magnitude k (k = 0
    /// … M), as the table gives them: Σ counts · −log₂(f / 2²⁴).
    pub fn cost(&self, counts: &[u64]) -> f64 {
        let f = self.frequencies();
        let m = self.max as usize;
        counts
            .iter()
            .enumerate()
            .take(m + 1)
            .map(|(k, &c)| {
                if c == 0 {
                    return 0.0;
                }
                // The two signs of k share its count; their frequencies
                // are equal but for f(0)'s leftover.
                let p = f[m + k] as f64 / (1u64 << PRECISION) as f64;
                -(c as f64) * p.log2()
            })
            .sum()
    }

    /// The ratio with the fewest bits for symbols of these magnitude
    /// `counts` at largest magnitude `max` (a golden-section search over
    /// the ratio, each cost from the integer table).
    pub fn best_for(counts: &[u64], max: u16) -> Self {
        let cost = |r: u16| Geometric { ratio: r, max }.cost(counts);
        let (mut lo, mut hi) = (1u32, 65535u32);
        while hi - lo > 3 {
            let a = lo + (hi - lo) / 3;
            let b = hi - (hi - lo) / 3;
            if cost(a as u16) <= cost(b as u16) {
                hi = b;
            } else {
                lo = a;
            }
        }
        let ratio = (lo..=hi)
            .min_by(|&a, &b| cost(a as u16).total_cmp(&cost(b as u16)))
            .expect("a non-empty range") as u16;
        Geometric { ratio, max }
    }
}

/// A [`Geometric`] model's coding table, built once and used for many
/// symbols of a stream that mixes models (FORMAT.md §6.5).
#[derive(Clone, Debug)]
pub struct Table {
    pub model: Geometric,
    coder: DefaultContiguousCategoricalEntropyModel,
    /// f(q) for q = −M … M, for [`ReferenceStream`].
    frequencies: Vec<u32>,
}

impl Table {
    pub fn new(model: Geometric) -> Self {
        Self {
            model,
            coder: model.model(),
            frequencies: model.frequencies(),
        }
    }

    /// Bits the coder spends on `q`: −log₂(f(q) / 2²⁴); infinite outside
    /// −M … M.
    pub fn bits(&self, q: i32) -> f64 {
        let m = self.model.max as i32;
        if q.abs() > m {
            return f64::INFINITY;
        }
        -(self.frequencies[(q + m) as usize] as f64 / (1u64 << PRECISION) as f64).log2()
    }
}

/// Codes each symbol under its own table, so that [`StreamDecoder`] gives
/// them back in this order when asked with the same tables.
pub fn encode_mixed(symbols: &[(i32, &Table)]) -> Result<Vec<u32>, String> {
    if let Some((q, t)) = symbols.iter().find(|(q, t)| q.abs() > t.model.max as i32) {
        return Err(format!("symbol {q} is outside ±{}", t.model.max));
    }
    let mut coder = DefaultAnsCoder::new();
    coder
        .encode_symbols_reverse(
            symbols
                .iter()
                .map(|&(q, t)| ((q + t.model.max as i32) as usize, &t.coder)),
        )
        .map_err(|e| format!("the coder failed: {e:?}"))?;
    coder
        .into_compressed()
        .map_err(|e| format!("the coder failed: {e:?}"))
}

/// Decodes a stream symbol by symbol, each under the table the caller
/// picks from what it decoded before (FORMAT.md §6.5).
pub struct StreamDecoder {
    coder: DefaultAnsCoder,
}

impl StreamDecoder {
    /// Fails when the last word is zero.
    pub fn new(words: Vec<u32>) -> Result<Self, String> {
        Ok(Self {
            coder: DefaultAnsCoder::from_compressed(words)
                .map_err(|_| "the coded stream's last word is zero".to_string())?,
        })
    }

    pub fn decode(&mut self, table: &Table) -> Result<i32, String> {
        let index = self
            .coder
            .decode_symbol(&table.coder)
            .map_err(|e| format!("the coded stream does not decode: {e:?}"))?;
        Ok(index as i32 - table.model.max as i32)
    }

    /// Fails unless every word was read and the state is back at zero.
    pub fn finish(self) -> Result<(), String> {
        let (rest, state) = self.coder.into_raw_parts();
        if !rest.is_empty() {
            return Err(format!(
                "the coded stream holds more than its symbols ({} words left over)",
                rest.len()
            ));
        }
        if state != 0 {
            return Err(format!(
                "the coded stream does not end with its symbols (the coder's state is {state:#x}, not 0)"
            ));
        }
        Ok(())
    }
}

/// [`StreamDecoder`] written from FORMAT.md §6.4 and §6.5 alone, step by
/// step, without constriction: its slow twin.
pub struct ReferenceStream<'a> {
    words: &'a [u32],
    pos: usize,
    s: u64,
}

impl<'a> ReferenceStream<'a> {
    pub fn new(words: &'a [u32]) -> Result<Self, String> {
        let mut pos = words.len();
        let mut s: u64 = 0;
        if pos > 0 {
            if words[pos - 1] == 0 {
                return Err("the last word is zero".into());
            }
            pos -= 1;
            s = words[pos] as u64;
            if pos > 0 {
                pos -= 1;
                s = (s << 32) | words[pos] as u64;
            }
        }
        Ok(Self { words, pos, s })
    }

    pub fn decode(&mut self, table: &Table) -> Result<i32, String> {
        let f = &table.frequencies;
        let x = self.s & ((1 << PRECISION) - 1);
        let mut c = 0u64;
        let mut i = 0;
        while x >= c + f[i] as u64 {
            c += f[i] as u64;
            i += 1;
        }
        self.s = (self.s >> PRECISION) * f[i] as u64 + (x - c);
        if self.s < 1 << 32 && self.pos > 0 {
            self.pos -= 1;
            self.s = (self.s << 32) | self.words[self.pos] as u64;
        }
        Ok(i as i32 - table.model.max as i32)
    }

    pub fn finish(self) -> Result<(), String> {
        if self.pos != 0 || self.s != 0 {
            return Err("words or state left over".into());
        }
        Ok(())
    }
}

/// Codes `symbols` (each within −M … M of `model`) into 32-bit words, so
/// that [`decode`] gives them back in this order.
pub fn encode(symbols: &[i32], model: &Geometric) -> Result<Vec<u32>, String> {
    let m = model.max as i32;
    if let Some(q) = symbols.iter().find(|q| q.abs() > m) {
        return Err(format!("symbol {q} is outside −{m} … {m}"));
    }
    let table = model.model();
    let mut coder = DefaultAnsCoder::new();
    coder
        .encode_iid_symbols_reverse(symbols.iter().map(|&q| (q + m) as usize), &table)
        .map_err(|e| format!("the coder failed: {e:?}"))?;
    coder
        .into_compressed()
        .map_err(|e| format!("the coder failed: {e:?}"))
}

/// Decodes `n` symbols from `words`; fails unless they are exactly what
/// [`encode`] writes for `n` symbols: the last word not zero, every word
/// consumed and the coder's state back at zero (FORMAT.md §6.4).
pub fn decode(words: &[u32], n: usize, model: &Geometric) -> Result<Vec<i32>, String> {
    let m = model.max as i32;
    let table = model.model();
    let mut coder = DefaultAnsCoder::from_compressed(words.to_vec())
        .map_err(|_| "the coded stream's last word is zero".to_string())?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let index = coder
            .decode_symbol(&table)
            .map_err(|e| format!("the coded stream does not decode: {e:?}"))?;
        out.push(index as i32 - m);
    }
    let (rest, state) = coder.into_raw_parts();
    if !rest.is_empty() {
        return Err(format!(
            "the coded stream holds more than its {n} symbols ({} words left over)",
            rest.len()
        ));
    }
    if state != 0 {
        return Err(format!(
            "the coded stream does not end with its {n} symbols (the coder's state is {state:#x}, not 0)"
        ));
    }
    Ok(out)
}

/// FORMAT.md §6.4's decoder, step by step, without constriction: the twin
/// [`decode`] is tested against.
pub fn reference_decode(words: &[u32], n: usize, model: &Geometric) -> Result<Vec<i32>, String> {
    let table = Table::new(*model);
    let mut stream = ReferenceStream::new(words)?;
    let out = (0..n)
        .map(|_| stream.decode(&table))
        .collect::<Result<Vec<_>, _>>()?;
    stream.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn laplace_symbols(n: usize, scale: f64, max: i32, seed: u64) -> Vec<i32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let u: f64 = rng.random_range(-0.5..0.5);
                let x = -scale * u.signum() * (1.0 - 2.0 * u.abs()).ln();
                (x.round() as i32).clamp(-max, max)
            })
            .collect()
    }

    #[test]
    fn tables_sum_to_the_precision_and_keep_every_symbol() {
        for (ratio, max) in [
            (1, 0),
            (1, 5),
            (65535, 0),
            (65535, 32767),
            (40000, 100),
            (3, 32767),
        ] {
            let g = Geometric::new(ratio, max).unwrap();
            let f = g.frequencies();
            assert_eq!(f.len(), 2 * max as usize + 1);
            assert_eq!(f.iter().map(|&v| v as u64).sum::<u64>(), 1 << PRECISION);
            assert!(f.iter().all(|&v| v >= 1), "{ratio} {max}");
            // Symmetric, falling away from zero.
            let m = max as usize;
            for k in 1..=m {
                assert_eq!(f[m + k], f[m - k]);
                assert!(f[m + k] <= f[m + k - 1]);
            }
        }
        assert!(Geometric::new(0, 3).is_err());
        assert!(Geometric::new(7, 32768).is_err());
    }

    /// The table of FORMAT.md §6.4 for ratio 32768 (ρ = ½), M = 2, worked
    /// by hand: w = 2³², 2³¹, 2³⁰; T = 2³² + 2·(2³¹ + 2³⁰) = 5·2³¹;
    /// spare = 2²⁴ − 5; f(±2) = 1 + ⌊2³⁰·spare / (5·2³¹)⌋ = 1 + ⌊spare/10⌋.
    #[test]
    fn a_small_table_as_worked_by_hand() {
        let f = Geometric::new(32768, 2).unwrap().frequencies();
        let spare = (1u64 << 24) - 5;
        let f2 = 1 + spare / 10;
        let f1 = 1 + spare / 5;
        let f0 = (1u64 << 24) - 2 * (f1 + f2);
        assert_eq!(
            f,
            vec![f2 as u32, f1 as u32, f0 as u32, f1 as u32, f2 as u32]
        );
        // f(0) = 1 + ⌊2³²·spare / T⌋ plus what the floors left over.
        assert!(f0 > 2 * spare / 5);
    }

    #[test]
    fn coding_round_trips_and_matches_the_reference_decoder() {
        for (seed, (n, scale, max)) in [
            (0usize, 1.0, 3),
            (1000, 0.3, 40),
            (5000, 20.0, 200),
            (70_000, 3.0, 32767),
            (1, 0.1, 0),
        ]
        .into_iter()
        .enumerate()
        {
            let symbols = laplace_symbols(n, scale, max, seed as u64);
            let counts = magnitude_counts(&symbols, max as usize);
            let g = Geometric::best_for(&counts, max as u16);
            let words = encode(&symbols, &g).unwrap();
            assert_eq!(decode(&words, n, &g).unwrap(), symbols);
            assert_eq!(reference_decode(&words, n, &g).unwrap(), symbols);
            // The estimate is the coder's cost within a few words.
            let bits = g.cost(&counts);
            let coded = 32.0 * words.len() as f64;
            assert!(
                coded >= bits - 1.0 && coded <= bits + 96.0,
                "{n} symbols: {coded} bits coded, {bits} estimated"
            );
        }
    }

    fn magnitude_counts(symbols: &[i32], max: usize) -> Vec<u64> {
        let mut counts = vec![0u64; max + 1];
        for q in symbols {
            counts[q.unsigned_abs() as usize] += 1;
        }
        counts
    }

    #[test]
    fn the_best_ratio_follows_the_spread() {
        let narrow = magnitude_counts(&laplace_symbols(20_000, 0.5, 100, 1), 100);
        let wide = magnitude_counts(&laplace_symbols(20_000, 10.0, 100, 1), 100);
        let (a, b) = (
            Geometric::best_for(&narrow, 100),
            Geometric::best_for(&wide, 100),
        );
        assert!(a.ratio < b.ratio, "{a:?} {b:?}");
        // Within a few bits of the best ratio in a fine sweep.
        let sweep = (1..=65535u32)
            .step_by(97)
            .map(|r| {
                Geometric {
                    ratio: r as u16,
                    max: 100,
                }
                .cost(&wide)
            })
            .fold(f64::INFINITY, f64::min);
        assert!(b.cost(&wide) <= sweep + 1.0);
    }

    #[test]
    fn broken_streams_are_errors() {
        let symbols = laplace_symbols(500, 4.0, 50, 9);
        let g = Geometric::best_for(&magnitude_counts(&symbols, 50), 50);
        let words = encode(&symbols, &g).unwrap();
        assert!(words.len() > 4);
        // Truncated, extended, with a zero last word, too few symbols asked.
        // (An empty stream is valid: from state 0 the first symbol of the
        // table, −M, costs nothing, so it decodes to n times −M.)
        let cases: Vec<(Vec<u32>, usize)> = vec![
            (words[1..].to_vec(), 500),
            ([&[7], &words[..]].concat(), 500),
            ([&words[..], &[0]].concat(), 500),
            (words.clone(), 499),
        ];
        assert_eq!(decode(&[], 3, &g).unwrap(), vec![-50; 3]);
        for (i, (w, n)) in cases.iter().enumerate() {
            assert!(decode(w, *n, &g).is_err(), "case {i}");
            assert!(reference_decode(w, *n, &g).is_err(), "case {i}");
        }
        // Any bit flipped: an error or other symbols, never a panic; the
        // two decoders agree.
        for i in 0..words.len() * 32 {
            let mut w = words.clone();
            w[i / 32] ^= 1 << (i % 32);
            let (a, b) = (decode(&w, 500, &g), reference_decode(&w, 500, &g));
            assert_eq!(a.is_ok(), b.is_ok(), "bit {i}");
            if let (Ok(a), Ok(b)) = (a, b) {
                assert_eq!(a, b);
                assert_ne!(a, symbols, "bit {i}");
            }
        }
        assert!(encode(&[51], &g).is_err());
    }
}
