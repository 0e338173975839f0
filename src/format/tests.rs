//! Round trips of every field and every corruption FORMAT.md rejects.

use super::*;
use crate::Limit;
use crate::model::{Arch, init_network};
use crate::signal::{Convention, Kind, Layout};

fn sample(encoding: Encoding) -> SconeFile {
    let arch = Arch::scone(
        2,
        4,
        3,
        20,
        25.0,
        vec![80.0, 15.5],
        crate::model::Mask::Sin2,
    );
    let network = init_network(&arch, 3);
    let encodings = vec![encoding; network.tensors.len()];
    SconeFile {
        signal: SignalInfo {
            kind: Kind::Image,
            layout: Layout::Rgba,
            sizes: vec![33, 17],
            bit_depth: 16,
            value_range: [-0.25, 1.5],
            convention: Convention::Endpoints,
            frame_rate: None,
            domain: None,
        },
        network,
        encodings,
        metadata: Some(r#"{"psnr_db": 31.5}"#.into()),
    }
}

/// Splits a file into (type, payload) chunks.
fn chunks(bytes: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 12;
    while pos < bytes.len() {
        let ty: [u8; 4] = bytes[pos..pos + 4].try_into().unwrap();
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        out.push((ty, bytes[pos + 8..pos + 8 + len].to_vec()));
        pos += 12 + len;
    }
    out
}

/// Reassembles chunks with correct CRCs.
fn assemble(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    let mut w = ChunkWriter::new(&mut out);
    for (ty, payload) in chunks {
        w.chunk(ChunkType(*ty), payload).unwrap();
    }
    out
}

fn error_of(bytes: &[u8]) -> String {
    match SconeFile::from_bytes(bytes) {
        Ok(_) => panic!("a bad file was accepted"),
        Err(e) => e.to_string(),
    }
}

/// The rule of FORMAT.md a bad file breaks.
fn rule_of(bytes: &[u8]) -> Rule {
    match SconeFile::from_bytes(bytes) {
        Ok(_) => panic!("a bad file was accepted"),
        Err(Error::Format(e)) => e.rule,
        Err(e) => panic!("not a format error: {e}"),
    }
}

#[test]
fn f32_round_trip_is_exact_in_every_field() {
    let file = sample(Encoding::F32);
    let back = SconeFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
    assert_eq!(back, file);
}

#[test]
fn f16_and_affine8_round_trip_within_their_precision() {
    for (enc, tol) in [(Encoding::F16, 1e-3f32), (Encoding::Affine8, 1.0 / 255.0)] {
        let file = sample(enc);
        let back = SconeFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
        assert_eq!(back.signal, file.signal);
        assert_eq!(back.network.arch, file.network.arch);
        assert_eq!(back.encodings, file.encodings);
        assert_eq!(back.metadata, file.metadata);
        for (a, b) in back.network.tensors.iter().zip(&file.network.tensors) {
            assert_eq!((&a.name, &a.shape), (&b.name, &b.shape));
            let range = b.data.iter().fold(0f32, |m, v| m.max(v.abs())) * 2.0;
            for (x, y) in a.data.iter().zip(&b.data) {
                assert!(
                    (x - y).abs() <= tol * range.max(1e-6),
                    "{enc:?} {}: {x} vs {y}",
                    a.name
                );
            }
        }
        // Quantised values are exactly representable: a second trip is lossless.
        let again = SconeFile::from_bytes(&back.to_bytes().unwrap()).unwrap();
        assert_eq!(again.network, back.network);
    }
}

#[test]
fn mixed_encodings_round_trip() {
    let mut file = sample(Encoding::F16);
    for (i, e) in file.encodings.iter_mut().enumerate() {
        *e = [Encoding::F32, Encoding::F16, Encoding::Affine8][i % 3];
    }
    let back = SconeFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
    assert_eq!(back.encodings, file.encodings);
}

#[test]
fn metadata_is_optional() {
    let mut file = sample(Encoding::F32);
    file.metadata = None;
    let back = SconeFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
    assert_eq!(back.metadata, None);
}

#[test]
fn empty_and_foreign_files_are_rejected() {
    assert!(error_of(&[]).contains("empty"));
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert!(error_of(png).contains("not a .scone file"));
    assert!(error_of(b"hello").contains("not a .scone file"));
}

#[test]
fn every_truncation_is_rejected() {
    let bytes = sample(Encoding::F16).to_bytes().unwrap();
    for n in 0..bytes.len() {
        assert!(
            SconeFile::from_bytes(&bytes[..n]).is_err(),
            "truncated to {n} bytes was accepted"
        );
    }
}

#[test]
fn a_flipped_bit_anywhere_is_rejected() {
    let bytes = sample(Encoding::Affine8).to_bytes().unwrap();
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x10;
        assert!(
            SconeFile::from_bytes(&bad).is_err(),
            "flip at byte {i} was accepted"
        );
    }
}

#[test]
fn corrupted_payload_reports_crc() {
    let mut bytes = sample(Encoding::F32).to_bytes().unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 0xff; // inside the meta payload
    assert!(error_of(&bytes).contains("CRC"));
}

#[test]
fn unknown_version_is_rejected() {
    let mut bytes = sample(Encoding::F32).to_bytes().unwrap();
    bytes[8] = 2;
    assert!(error_of(&bytes).contains("version 2"));
}

#[test]
fn unknown_ancillary_chunks_are_skipped_and_critical_ones_refused() {
    let file = sample(Encoding::F32);
    let mut c = chunks(&file.to_bytes().unwrap());
    c.insert(1, (*b"xtra", vec![1, 2, 3]));
    assert_eq!(SconeFile::from_bytes(&assemble(&c)).unwrap(), file);
    c[1].0 = *b"Xtra";
    assert!(error_of(&assemble(&c)).contains("unknown critical chunk"));
}

#[test]
fn chunk_order_and_presence_are_enforced() {
    let c = chunks(&sample(Encoding::F32).to_bytes().unwrap());
    let swapped = vec![c[1].clone(), c[0].clone(), c[2].clone(), c[4].clone()];
    assert_eq!(rule_of(&assemble(&swapped)), Rule::ChunkOrder);
    assert!(error_of(&assemble(&swapped)).contains("not `SGNL`"));
    let repeated = vec![
        c[0].clone(),
        c[0].clone(),
        c[1].clone(),
        c[2].clone(),
        c[4].clone(),
    ];
    assert!(error_of(&assemble(&repeated)).contains("repeated"));
    assert_eq!(rule_of(&assemble(&repeated)), Rule::ChunkOrder);
    let no_weights = vec![c[0].clone(), c[1].clone(), c[4].clone()];
    assert!(error_of(&assemble(&no_weights)).contains("before any `WGHT`"));
    let no_end = vec![c[0].clone(), c[1].clone(), c[2].clone()];
    assert!(error_of(&assemble(&no_end)).contains("truncated"));
    assert_eq!(rule_of(&assemble(&no_end)), Rule::ChunkOrder);
    let mut trailing = assemble(&c);
    trailing.push(0);
    assert_eq!(rule_of(&trailing), Rule::TrailingData);
    // FORMAT.md §3.2: nothing before SGNL, not even an ancillary chunk; one
    // right after it is fine.
    let mut early = c.clone();
    early.insert(0, (*b"xtra", vec![1]));
    assert_eq!(rule_of(&assemble(&early)), Rule::ChunkOrder);
    let mut after = c.clone();
    after.insert(1, (*b"xtra", vec![1]));
    SconeFile::from_bytes(&assemble(&after)).unwrap();
    // §3.3: a type byte that is not a letter, even in a chunk that would
    // otherwise be ancillary.
    let mut digit = c.clone();
    digit.insert(1, (*b"x7ra", vec![1]));
    assert_eq!(rule_of(&assemble(&digit)), Rule::ChunkType);
    // A non-empty DONE.
    let mut done = c.clone();
    done.last_mut().unwrap().1.push(0);
    assert_eq!(rule_of(&assemble(&done)), Rule::Done);
}

#[test]
fn metadata_that_is_not_utf8_does_not_make_a_file_invalid() {
    let mut c = chunks(&sample(Encoding::F32).to_bytes().unwrap());
    let meta = c.iter_mut().find(|(ty, _)| ty == b"meta").unwrap();
    meta.1 = vec![b'{', 0xff, b'}'];
    let file = SconeFile::from_bytes(&assemble(&c)).unwrap();
    assert_eq!(file.metadata.as_deref(), Some("{\u{fffd}}"));
}

#[test]
fn absurd_sizes_are_refused_before_allocation() {
    let c = chunks(&sample(Encoding::F32).to_bytes().unwrap());
    // A chunk claiming 4 GiB: past the end of the file (§3.3), whatever
    // the limits.
    let mut bytes = assemble(&c);
    bytes[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(rule_of(&bytes), Rule::ChunkPastEnd);
    // Within the file but beyond a chunk limit: §9.
    let small = Limits {
        max_chunk_bytes: 8,
        ..Limits::default()
    };
    let e = SconeFile::from_bytes_with_limits(&assemble(&c), &small).unwrap_err();
    assert!(
        matches!(&e, Error::LimitsExceeded(l) if l.limit == Limit::ChunkBytes),
        "{e}"
    );
    assert_eq!(e.section(), Some("§9"));
    // A grid of 0 and of 2³² − 1 samples.
    for size in [0u32, u32::MAX] {
        let mut c2 = c.clone();
        c2[0].1[5..9].copy_from_slice(&size.to_le_bytes());
        assert!(error_of(&assemble(&c2)).contains("grid size"));
        assert_eq!(rule_of(&assemble(&c2)), Rule::Size);
    }
    // A hidden width of 2³² − 1.
    let mut c3 = c.clone();
    let arch = &mut c3[1].1;
    let at = arch.windows(6).position(|w| w == b"hidden").unwrap() + 7;
    arch[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(error_of(&assemble(&c3)).contains("hidden width"));
    assert_eq!(rule_of(&assemble(&c3)), Rule::HyperValue);
    // A tensor table claiming 2³² × 2³² values: not the architecture's.
    let mut c4 = c.clone();
    let w = &mut c4[2].1;
    let at = 2 + 1 + w[2] as usize + 1; // count, name length, name, rank
    w[at..at + 8].copy_from_slice(&[0xff; 8]);
    assert_eq!(rule_of(&assemble(&c4)), Rule::TensorTable);
    // The widest, deepest SCONE the format allows: its table is refused
    // at the weight limit, before any data is read.
    let big = Arch::scone(
        2,
        4,
        32,
        4096,
        30.0,
        vec![30.0; 31],
        crate::model::Mask::Sin2,
    );
    let mut table = Vec::new();
    table.extend_from_slice(&(big.tensor_specs().len() as u16).to_le_bytes());
    for spec in big.tensor_specs() {
        super::bytes::put_ascii(&mut table, &spec.name);
        table.push(spec.shape.len() as u8);
        for d in &spec.shape {
            table.extend_from_slice(&(*d as u32).to_le_bytes());
        }
        table.push(0);
    }
    let mut c5 = c.clone();
    c5[1].1 = super::arch::encode(&big);
    c5[2].1 = table;
    let e = SconeFile::from_bytes(&assemble(&c5)).unwrap_err();
    assert!(
        matches!(&e, Error::LimitsExceeded(l) if l.limit == Limit::WeightValues && l.value > l.max),
        "{e}"
    );
}

/// `file`'s chunks with the WGHT payload's packed data replaced by
/// `packed(raw)`, under compression `code`.
fn with_packed(file: &SconeFile, code: u8, packed: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut c = chunks(&file.to_bytes().unwrap());
    let w = &mut c[2].1;
    let pos = find_raw_len(w);
    let raw_len = u32::from_le_bytes(w[pos..pos + 4].try_into().unwrap()) as usize;
    let raw = zstd::bulk::decompress(&w[pos + 4..], raw_len).unwrap();
    w[pos - 1] = code;
    w.truncate(pos + 4);
    w.extend_from_slice(&packed(&raw));
    assemble(&c)
}

#[test]
fn packed_weights_are_exactly_their_frames() {
    let file = sample(Encoding::F16);
    let frame = |raw: &[u8]| zstd::bulk::compress(raw, 3).unwrap();
    // Accepted: one frame, two frames, no compression.
    let one = with_packed(&file, 1, frame);
    let two = with_packed(&file, 1, |raw| {
        let (a, b) = raw.split_at(raw.len() / 3);
        [frame(a), frame(b)].concat()
    });
    let none = with_packed(&file, 0, |raw| raw.to_vec());
    let expected = SconeFile::from_bytes(&file.to_bytes().unwrap()).unwrap();
    for ok in [&one, &two, &none] {
        assert_eq!(SconeFile::from_bytes(ok).unwrap().network, expected.network);
    }
    // Refused (FORMAT.md §6.1): a byte after the last frame, another
    // (empty) frame after the data is complete, a skippable frame, a
    // frame that holds too much, stored data one byte long.
    let skippable = [0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4];
    let bad = [
        with_packed(&file, 1, |raw| [frame(raw), vec![0]].concat()),
        with_packed(&file, 1, |raw| [frame(raw), frame(&[])].concat()),
        with_packed(&file, 1, |raw| [skippable.to_vec(), frame(raw)].concat()),
        with_packed(&file, 1, |raw| [frame(raw), skippable.to_vec()].concat()),
        with_packed(&file, 1, |raw| frame(&[raw, &[0]].concat())),
        with_packed(&file, 1, |raw| frame(&raw[1..])),
        with_packed(&file, 1, |_| Vec::new()),
        with_packed(&file, 0, |raw| [raw, &[0]].concat()),
    ];
    for (i, bytes) in bad.iter().enumerate() {
        assert_eq!(rule_of(bytes), Rule::Packed, "case {i}");
    }
    assert_eq!(
        rule_of(&with_packed(&file, 2, |raw| raw.to_vec())),
        Rule::Compression
    );
}

#[test]
fn affine8_values_are_binary32_sums_and_must_be_finite() {
    // A one-row tensor whose offset + scale · q is finite in binary64 but
    // not in binary32, where the product alone overflows (FORMAT.md §6.3).
    let mut file = sample(Encoding::F32);
    file.encodings = vec![Encoding::F32; file.network.tensors.len()];
    let i = file
        .network
        .tensors
        .iter()
        .position(|t| t.name == "hidden.1.mask.weight")
        .unwrap();
    file.encodings[i] = Encoding::Affine8;
    let mut c = chunks(&file.to_bytes().unwrap());
    let w = &mut c[2].1;
    let data = find_raw_len(w) + 4;
    let mut raw = zstd::bulk::decompress(&w[data..], 1 << 20).unwrap();
    let start: usize = file.network.tensors[..i]
        .iter()
        .map(|t| 4 * t.data.len())
        .sum();
    let rows = file.network.tensors[i].shape[0];
    // Row 0: scale 2e36, offset −3e38; its q values after the pairs.
    raw[start..start + 4].copy_from_slice(&2e36f32.to_le_bytes());
    raw[start + 4..start + 8].copy_from_slice(&(-3e38f32).to_le_bytes());
    raw[start + 8 * rows] = 255;
    assert!((-3e38f64 + 2e36 * 255.0).abs() < f32::MAX as f64);
    w.truncate(data);
    w.extend_from_slice(&zstd::bulk::compress(&raw, 3).unwrap());
    let bytes = assemble(&c);
    assert_eq!(rule_of(&bytes), Rule::NonFinite);
    // With every q of the row 0 the same row is finite: the pairs are
    // (scale, offset).
    let cols = file.network.tensors[i].shape[1];
    raw[start + 8 * rows..start + 8 * rows + cols].fill(0);
    let mut c = chunks(&bytes);
    let w = &mut c[2].1;
    w.truncate(data);
    w.extend_from_slice(&zstd::bulk::compress(&raw, 3).unwrap());
    let back = SconeFile::from_bytes(&assemble(&c)).unwrap();
    assert_eq!(back.network.tensors[i].data[0], -3e38);
}

#[test]
fn weights_that_do_not_match_the_architecture_are_refused() {
    let c = chunks(&sample(Encoding::F32).to_bytes().unwrap());
    // Another file's ARCH with this file's WGHT.
    let mut other = sample(Encoding::F32);
    other.network = init_network(
        &Arch {
            hidden: 21,
            ..other.network.arch.clone()
        },
        1,
    );
    let oc = chunks(&other.to_bytes().unwrap());
    let mixed = vec![c[0].clone(), oc[1].clone(), c[2].clone(), c[4].clone()];
    assert!(error_of(&assemble(&mixed)).contains("where"));
    // A declared raw size that disagrees with the table.
    let mut c5 = c.clone();
    let w = &mut c5[2].1;
    let pos = find_raw_len(w);
    let v = u32::from_le_bytes(w[pos..pos + 4].try_into().unwrap()) + 1;
    w[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
    assert!(error_of(&assemble(&c5)).contains("declares"));
}

/// Offset of the raw-length field of a WGHT payload written by this crate.
fn find_raw_len(w: &[u8]) -> usize {
    let count = u16::from_le_bytes([w[0], w[1]]) as usize;
    let mut pos = 2;
    for _ in 0..count {
        pos += 1 + w[pos] as usize;
        let rank = w[pos] as usize;
        pos += 1 + 4 * rank;
        // A coded entry's step, ratio, max and length (FORMAT.md §6.4).
        pos += if w[pos] == 3 { 1 + 12 } else { 1 };
    }
    pos + 1
}

#[test]
fn dims_must_match_the_signal() {
    let mut file = sample(Encoding::F32);
    file.signal.layout = Layout::Rgb;
    assert!(file.to_bytes().is_err());
}

/// Every family and mask: an exact f32 round trip, and the ARCH chunk
/// refuses a hyperparameter of another family, a missing one and one of
/// the wrong type.
#[test]
fn every_family_round_trips_and_checks_its_keys() {
    use crate::model::{FAMILY_NAMES, Family, Mask};
    let mut archs: Vec<Arch> = FAMILY_NAMES
        .iter()
        .map(|name| {
            let mut family = Family::default_of(name, 3).unwrap();
            if let Family::Ffn { frequencies, .. } = &mut family {
                *frequencies = 8;
            }
            Arch {
                in_dims: 2,
                out_dims: 4,
                layers: 3,
                hidden: 12,
                family,
            }
        })
        .collect();
    archs.extend(Mask::ALL.map(|m| Arch::scone(2, 4, 3, 12, 25.0, vec![80.0, 15.5], m)));
    for arch in archs {
        let mut file = sample(Encoding::F32);
        file.network = init_network(&arch, 4);
        file.encodings = vec![Encoding::F32; file.network.tensors.len()];
        let bytes = file.to_bytes().unwrap();
        assert_eq!(
            SconeFile::from_bytes(&bytes).unwrap(),
            file,
            "{}",
            arch.label()
        );

        let c = chunks(&bytes);
        let with_arch = |payload: Vec<u8>| {
            let mut c = c.clone();
            c[1].1 = payload;
            error_of(&assemble(&c))
        };
        let encoded = super::arch::encode(&arch);
        // One more key, as the last parameter: the count byte follows the
        // name (str8) and the two dimension bytes.
        let count_at = 1 + arch.name().len() + 2;
        let mut extra = encoded.clone();
        extra[count_at] += 1;
        extra.extend_from_slice(&[6, b'g', b'a', b'm', b'm', b'a', b'2', 2]);
        extra.extend_from_slice(&1f32.to_le_bytes());
        assert!(
            with_arch(extra).contains("unknown hyperparameter"),
            "{}",
            arch.label()
        );
        // One key fewer: drop the last parameter.
        let params = arch.hyperparameters();
        let (last_key, last_value) = params.last().unwrap();
        let value_len = match last_value {
            crate::model::HyperValue::U32(_) | crate::model::HyperValue::F32(_) => 4,
            crate::model::HyperValue::F32s(v) => 2 + 4 * v.len(),
            crate::model::HyperValue::Str(s) => 1 + s.len(),
        };
        let mut fewer = encoded[..encoded.len() - (1 + last_key.len() + 1 + value_len)].to_vec();
        fewer[count_at] -= 1;
        assert!(with_arch(fewer).contains("lacks"), "{}", arch.label());
        // `layers` (a u32, first) stored as an f32.
        let mut wrong = encoded.clone();
        let type_at = count_at + 1 + 1 + "layers".len();
        assert_eq!(wrong[type_at], 1);
        wrong[type_at] = 2;
        assert!(with_arch(wrong).contains("wrong type"), "{}", arch.label());
    }
}

/// `file` with every tensor coded at a step of `fraction` of its largest
/// magnitude (FORMAT.md §6.4).
fn coded(mut file: SconeFile, fraction: f32) -> SconeFile {
    file.encodings = file
        .network
        .tensors
        .iter()
        .map(|t| {
            let top = t.data.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
            Encoding::Coded {
                step: top * fraction,
            }
        })
        .collect();
    file
}

#[test]
fn coded_tensors_round_trip_within_half_a_step() {
    let file = coded(sample(Encoding::F32), 1.0 / 50.0);
    let bytes = file.to_bytes().unwrap();
    let back = SconeFile::from_bytes(&bytes).unwrap();
    assert_eq!(back.encodings, file.encodings);
    for ((a, b), e) in back
        .network
        .tensors
        .iter()
        .zip(&file.network.tensors)
        .zip(&file.encodings)
    {
        let Encoding::Coded { step } = *e else {
            unreachable!()
        };
        for (x, y) in a.data.iter().zip(&b.data) {
            assert!((x - y).abs() <= step * 0.5001, "{}: {x} vs {y}", a.name);
            // Exactly a multiple of the step, as binary32 computes it.
            assert_eq!(*x, step * (x / step).round());
        }
    }
    // A second trip is lossless, and the same bytes.
    let again = back.to_bytes().unwrap();
    assert_eq!(SconeFile::from_bytes(&again).unwrap().network, back.network);
    assert_eq!(again, bytes);
    // Coarser steps take fewer bytes; coded data is not zstd-compressed.
    let coarse = coded(sample(Encoding::F32), 1.0 / 5.0).to_bytes().unwrap();
    assert!(
        coarse.len() < bytes.len(),
        "{} vs {}",
        coarse.len(),
        bytes.len()
    );
    let c = chunks(&bytes);
    let pos = find_raw_len(&c[2].1);
    assert_eq!(c[2].1[pos - 1], 0, "compression none for coded data");
}

#[test]
fn bad_coded_entries_are_refused() {
    let file = coded(sample(Encoding::F32), 1.0 / 30.0);
    let c = chunks(&file.to_bytes().unwrap());
    // The first table entry: count (2), name, rank (1), 2 dims, encoding,
    // then step (4), ratio (2), max (2), length (4).
    let w = &c[2].1;
    let name_len = w[2] as usize;
    let fields = 2 + 1 + name_len + 1 + 8 + 1;
    let edit = |at: usize, bytes: &[u8]| {
        let mut c = c.clone();
        c[2].1[fields + at..fields + at + bytes.len()].copy_from_slice(bytes);
        assemble(&c)
    };
    let rule = Rule::Coded;
    assert_eq!(rule_of(&edit(0, &0f32.to_le_bytes())), rule);
    assert_eq!(rule_of(&edit(0, &f32::NAN.to_le_bytes())), rule);
    assert_eq!(rule_of(&edit(0, &(-1f32).to_le_bytes())), rule);
    assert_eq!(rule_of(&edit(4, &0u16.to_le_bytes())), rule);
    assert_eq!(rule_of(&edit(6, &40000u16.to_le_bytes())), rule);
    let length = u32::from_le_bytes(w[fields + 8..fields + 12].try_into().unwrap());
    assert_eq!(rule_of(&edit(8, &(length + 2).to_le_bytes())), rule);
    // Another length shifts the data: the table no longer sums to raw_size.
    assert_eq!(
        rule_of(&edit(8, &(length + 4).to_le_bytes())),
        Rule::RawSize
    );
    // Another ratio decodes other symbols or fails; never the same file.
    let ratio = u16::from_le_bytes(w[fields + 4..fields + 6].try_into().unwrap());
    match SconeFile::from_bytes(&edit(4, &(ratio ^ 0x40).to_le_bytes())) {
        Err(e) => assert!(matches!(e.section(), Some("§6.4") | Some("§6.2")), "{e}"),
        Ok(other) => assert_ne!(
            other.network,
            SconeFile::from_bytes(&assemble(&c)).unwrap().network
        ),
    }
    // A huge step makes values that are not finite in binary32.
    let huge = edit(0, &3e38f32.to_le_bytes());
    assert!(matches!(rule_of(&huge), Rule::NonFinite | Rule::Coded));
}

#[test]
fn coded_streams_with_extra_or_missing_words_are_refused() {
    // One coded tensor among f32 ones, its words edited in the data.
    let mut file = sample(Encoding::F32);
    let i = file
        .network
        .tensors
        .iter()
        .position(|t| t.name == "hidden.1.mask.weight")
        .unwrap();
    file.encodings[i] = Encoding::Coded { step: 1e-3 };
    let bytes = file.to_bytes().unwrap();
    SconeFile::from_bytes(&bytes).unwrap();
    let c = chunks(&bytes);
    let w = &c[2].1;
    let start: usize = file.network.tensors[..i]
        .iter()
        .map(|t| 4 * t.data.len())
        .sum();
    let pos = find_raw_len(w);
    let raw_at = pos + 4;
    let zstd = w[pos - 1] == 1;
    let raw_len = u32::from_le_bytes(w[pos..pos + 4].try_into().unwrap()) as usize;
    let raw = if zstd {
        zstd::bulk::decompress(&w[raw_at..], raw_len).unwrap()
    } else {
        w[raw_at..].to_vec()
    };
    // Flip each byte of the first words in turn: an error or other values.
    let mut failures = 0;
    for k in 0..16 {
        let mut r = raw.clone();
        r[start + k] ^= 0x5a;
        let mut c = c.clone();
        c[2].1.truncate(raw_at);
        if zstd {
            c[2].1
                .extend_from_slice(&zstd::bulk::compress(&r, 3).unwrap());
        } else {
            c[2].1.extend_from_slice(&r);
        }
        match SconeFile::from_bytes(&assemble(&c)) {
            Err(e) => {
                assert_eq!(e.section(), Some("§6.4"), "{e}");
                failures += 1;
            }
            Ok(f) => assert_ne!(f.network.tensors[i], file.network.tensors[i]),
        }
    }
    assert!(failures > 0, "no corruption was caught");
}

/// A `grid` file: 29×19 grayscale-alpha image, five grids, coded weights.
fn grid_sample(synthesis: crate::model::Synthesis) -> SconeFile {
    let network = crate::model::init::grid_test_network(synthesis, 5, 29, 19, 2, 11);
    let specs = network.arch.tensor_specs();
    let encodings = specs
        .iter()
        .map(|s| {
            if s.latent {
                Encoding::Latent
            } else {
                Encoding::Coded { step: 1.0 / 512.0 }
            }
        })
        .collect();
    SconeFile {
        signal: SignalInfo {
            kind: Kind::Image,
            layout: Layout::GrayAlpha,
            sizes: vec![29, 19],
            bit_depth: 8,
            value_range: [0.0, 1.0],
            convention: Convention::CellCentre,
            frame_rate: None,
            domain: None,
        },
        network,
        encodings,
        metadata: None,
    }
}

fn grid_syntheses() -> Vec<crate::model::Synthesis> {
    use crate::model::{Mask, Synthesis};
    vec![
        Synthesis::Scone {
            omega0: 1.0,
            omegas: vec![2.0, 3.0],
            mask: Mask::Sin2,
        },
        Synthesis::Siren { omega0: 2.0 },
        Synthesis::Relu,
    ]
}

#[test]
fn grid_files_round_trip_with_their_latents_exact() {
    for s in grid_syntheses() {
        let file = grid_sample(s);
        let bytes = file.to_bytes().unwrap();
        let back = SconeFile::from_bytes(&bytes).unwrap();
        assert_eq!(back.network.arch, file.network.arch);
        for (a, b) in back.network.tensors.iter().zip(&file.network.tensors) {
            assert_eq!(a.name, b.name);
            if a.name.starts_with("latent.") {
                assert_eq!(a.data, b.data, "{}", a.name);
            } else {
                let err = a
                    .data
                    .iter()
                    .zip(&b.data)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0.0, f32::max);
                assert!(err <= 1.0 / 1024.0 + 1e-6, "{}: {err}", a.name);
            }
        }
        assert_eq!(
            back.to_bytes().unwrap(),
            bytes,
            "a decoded file re-encodes to itself"
        );
        let ty: Vec<[u8; 4]> = chunks(&bytes).iter().map(|c| c.0).collect();
        assert_eq!(ty, [*b"SGNL", *b"ARCH", *b"WGHT", *b"LATN", *b"DONE"]);
    }
}

#[test]
fn latent_streams_decode_the_same_with_the_reference_decoder() {
    for s in grid_syntheses() {
        let file = grid_sample(s);
        let bytes = file.to_bytes().unwrap();
        let latn = chunks(&bytes)
            .into_iter()
            .find(|c| &c.0 == b"LATN")
            .unwrap()
            .1;
        let fast = latents::decode(&latn, &file.network.arch, &Limits::default()).unwrap();
        let slow = latents::reference_decode(&latn, &file.network.arch).unwrap();
        for (f, s) in fast.iter().zip(&slow) {
            let f: Vec<i32> = f.data.iter().map(|&v| v as i32).collect();
            assert_eq!(&f, s);
        }
    }
}

#[test]
fn hostile_latent_chunks_are_clean_errors() {
    let file = grid_sample(grid_syntheses().remove(0));
    let bytes = file.to_bytes().unwrap();
    let parts = chunks(&bytes);
    let at = parts.iter().position(|c| &c.0 == b"LATN").unwrap();
    let latn = parts[at].1.clone();
    let with = |payload: Vec<u8>| {
        let mut p = parts.clone();
        p[at].1 = payload;
        assemble(&p)
    };
    // The first grid's class count sits after `levels` and 8 predictor bytes.
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut p = latn.clone();
    p[0] = 4;
    cases.push(("levels differ", p));
    let mut p = latn.clone();
    p[9] = 0;
    cases.push(("no classes", p));
    let mut p = latn.clone();
    p[9] = 17;
    cases.push(("17 classes", p));
    let mut p = latn.clone();
    p[10] = 0;
    p[11] = 0;
    cases.push(("ratio 0", p));
    let mut p = latn.clone();
    p[12] = 0xFF;
    p[13] = 0xFF;
    cases.push(("max beyond 32767", p));
    let mut p = latn.clone();
    p.push(0);
    cases.push(("a byte after the words", p));
    let mut p = latn.clone();
    p.extend_from_slice(&[1, 0, 0, 0]);
    cases.push(("a word the length does not count", p));
    let mut p = latn.clone();
    p.truncate(p.len() - 4);
    cases.push(("a truncated stream", p));
    let mut p = latn.clone();
    let n = p.len();
    p[n - 5] ^= 0x40;
    cases.push(("a changed word", p));
    for (what, payload) in cases {
        match SconeFile::from_bytes(&with(payload)) {
            Ok(_) => panic!("{what}: accepted"),
            Err(Error::Format(e)) => assert!(
                matches!(e.rule, Rule::Latents | Rule::PayloadLength),
                "{what}: {:?} {}",
                e.rule,
                e.detail
            ),
            Err(e) => panic!("{what}: {e}"),
        }
    }
    // LATN missing, repeated, or in a file of another architecture.
    let mut p = parts.clone();
    p.remove(at);
    assert_eq!(rule_of(&assemble(&p)), Rule::ChunkOrder);
    let mut p = parts.clone();
    p.insert(at, parts[at].clone());
    assert_eq!(rule_of(&assemble(&p)), Rule::ChunkOrder);
    let plain = sample(Encoding::F32).to_bytes().unwrap();
    let mut p = chunks(&plain);
    p.insert(3, parts[at].clone());
    assert_eq!(rule_of(&assemble(&p)), Rule::ChunkOrder);
    // More latents than the limit allows: refused before decoding.
    let limits = Limits {
        max_weight_values: 500,
        ..Limits::default()
    };
    match SconeFile::from_bytes_with_limits(&bytes, &limits) {
        Err(Error::LimitsExceeded(e)) => assert_eq!(e.limit, Limit::WeightValues),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_grid_larger_than_its_image_is_refused() {
    let file = grid_sample(crate::model::Synthesis::Relu);
    let bytes = file.to_bytes().unwrap();
    let mut parts = chunks(&bytes);
    // SGNL's width (byte 5 of its payload) shrinks below the grid's 29.
    parts[0].1[5..9].copy_from_slice(&28u32.to_le_bytes());
    assert_eq!(rule_of(&assemble(&parts)), Rule::ArchDims);
    let mut parts = chunks(&bytes);
    parts[0].1[0] = 1; // a video
    assert!(SconeFile::from_bytes(&assemble(&parts)).is_err());
}
