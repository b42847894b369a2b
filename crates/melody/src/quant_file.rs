//! The quantized melody LSTM as a file (`.tpq`): the numbers [`QuantLstm`] plays, already
//! quantized, in a flat little-endian layout. The page loads this file (web/models/melody-lstm.tpq,
//! written from the safetensors model by `tidepool melody export-quantized`), so its wasm module
//! needs neither the safetensors/JSON parser nor the quantizer; the safetensors file stays the
//! canonical model (PyTorch-loadable, what training writes and the evaluations read).
//!
//! Layout (every number little-endian; every f32 array starts 4-aligned):
//!
//! | bytes | what |
//! |---|---|
//! | 4 | magic `TPQL` |
//! | 4 | u32 format version, [`FORMAT_VERSION`] |
//! | 4 | u32 vocabulary, [`VOCAB`] |
//! | 4 | u32 LSTM layers L, 1–3 ([`LAYERS`]) |
//! | 4 | u32 hidden units H (1–[`MAX_HIDDEN`]) |
//! | 4 | u32 position inputs P: 0, or 16 ([`POSITIONS`], the metrical position one-hot) |
//! | 4 · VOCAB · 4H | f32 token table: the first layer's `W_ih · emb[t] + b_ih + b_hh` |
//! | 4 · P · 4H | f32 position columns: row p is the first layer's `W_ih` column of position p |
//! | per layer k above the first: 4 · 4H, 4H · H, 4 · 4H | f32 `W_ih` row scales, i8 `W_ih` (row-major), f32 `b_ih + b_hh` |
//! | per layer k: 4 · 4H, 4H · H | f32 `W_hh` row scales, i8 `W_hh` (row-major) |
//! | 4 · VOCAB · H, 4 · VOCAB | f32 output weights (row-major), f32 output bias |
//!
//! (layer 0's `W_hh`, then layer 1's `W_ih`, bias and `W_hh`: layer by layer.) [`read`] checks
//! everything the step relies on: the header, the exact length, every f32 finite, every scale
//! non-negative, every weight in −127..=127; the error names the first thing wrong.

use crate::lstm::{Lstm, POSITIONS};
use crate::quant::{QuantLayerWeights, QuantLstm, QuantRows, QuantWeights};
use crate::tokens::VOCAB;

const MAGIC: &[u8; 4] = b"TPQL";
/// The version of the layout above this build reads and writes (1 had no position field and
/// always 2 layers).
pub const FORMAT_VERSION: u32 = 2;
/// LSTM layers a file may hold (as the safetensors loader: [`crate::model_file::LAYERS`]).
pub const LAYERS: std::ops::RangeInclusive<usize> = crate::model_file::LAYERS;
/// The most hidden units a file may declare (the safetensors loader's most).
pub const MAX_HIDDEN: usize = *crate::model_file::HIDDEN.end();
/// Bytes before the token table.
const HEADER: usize = 24;

/// Bytes of a file of `layers` layers of `h` units and `p` position inputs (in u64: no overflow
/// for any header).
fn file_len(layers: u64, h: u64, p: u64) -> u64 {
    let (v, g) = (VOCAB as u64, 4 * h);
    let matrix = 4 * g + g * h;
    HEADER as u64
        + 4 * v * g
        + 4 * p * g
        + layers * matrix
        + layers.saturating_sub(1) * (matrix + 4 * g)
        + 4 * v * h
        + 4 * v
}

/// The `.tpq` bytes of `model` quantized (what [`QuantLstm::new`] plays). Refuses a model of
/// another shape than a melody LSTM's (1–3 layers of the same width).
pub fn write(model: &Lstm) -> Result<Vec<u8>, String> {
    let h = model.layers.first().map_or(0, |l| l.hidden);
    let layers = model.layers.len();
    if !LAYERS.contains(&layers) || h == 0 || h > MAX_HIDDEN {
        return Err(format!(
            "a .tpq holds {} to {} LSTM layers of 1–{MAX_HIDDEN} units; this model has {layers} \
             layers of {h}",
            LAYERS.start(),
            LAYERS.end()
        ));
    }
    if let Some(k) =
        (1..layers).find(|&k| model.layers[k].hidden != h || model.layers[k].input != h)
    {
        return Err(format!(
            "layer {k} is not {h} units wide with {h} inputs like layer 0"
        ));
    }
    let w = QuantWeights::of(model);
    let p = model.position_width;
    let len = file_len(layers as u64, h as u64, p as u64);
    let mut out = Vec::with_capacity(len as usize);
    out.extend_from_slice(MAGIC);
    for n in [
        FORMAT_VERSION,
        VOCAB as u32,
        layers as u32,
        h as u32,
        p as u32,
    ] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    let f32s = |out: &mut Vec<u8>, v: &[f32]| {
        v.iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes()))
    };
    let matrix = |out: &mut Vec<u8>, m: &QuantRows| {
        f32s(out, &m.scale);
        out.extend(m.q.iter().map(|&q| q as u8));
    };
    f32s(&mut out, &w.table);
    f32s(&mut out, &w.positions);
    for layer in &w.layers {
        if let Some(w_ih) = &layer.w_ih {
            matrix(&mut out, w_ih);
            f32s(&mut out, &layer.bias);
        }
        matrix(&mut out, &layer.w_hh);
    }
    f32s(&mut out, &w.linear_w);
    f32s(&mut out, &w.linear_b);
    debug_assert_eq!(out.len() as u64, len);
    Ok(out)
}

/// The model a `.tpq` file holds, at rest; the error says what is wrong with the file. Never
/// panics, and allocates only once the file's length matches its header.
pub fn read(bytes: &[u8]) -> Result<QuantLstm, String> {
    weights(bytes).map(QuantLstm::from_weights)
}

/// The numbers of a `.tpq` file, checked (see [`read`]).
pub fn weights(bytes: &[u8]) -> Result<QuantWeights, String> {
    if bytes.len() < HEADER {
        return Err(format!(
            "truncated: {} bytes, shorter than the {HEADER}-byte header of a .tpq file",
            bytes.len()
        ));
    }
    if bytes[..4] != MAGIC[..] {
        return Err("not a quantized melody LSTM (.tpq): the magic is not TPQL".into());
    }
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let (layer_count, h, p) = (word(12), word(16), word(20));
    let expected = [
        ("the format version", FORMAT_VERSION),
        ("the vocabulary", VOCAB as u32),
    ];
    for (i, (what, want)) in expected.into_iter().enumerate() {
        let got = word(4 + 4 * i);
        if got != want {
            return Err(format!("{what} is {got}; this tidepool reads {want}"));
        }
    }
    if !LAYERS.contains(&(layer_count as usize)) {
        return Err(format!(
            "{layer_count} LSTM layers, not {} to {}",
            LAYERS.start(),
            LAYERS.end()
        ));
    }
    if h == 0 || h as usize > MAX_HIDDEN {
        return Err(format!("{h} hidden units, not 1–{MAX_HIDDEN}"));
    }
    if p != 0 && p as usize != POSITIONS {
        return Err(format!("{p} position inputs, not 0 or {POSITIONS}"));
    }
    let need = file_len(layer_count as u64, h as u64, p as u64);
    let len = bytes.len() as u64;
    if len != need {
        return Err(if len < need {
            format!(
                "truncated: {layer_count} layers of {h} units need {need} bytes, the file has {len}"
            )
        } else {
            format!("{} bytes after the model's {need}", len - need)
        });
    }
    let (h, g, p) = (h as usize, 4 * h as usize, p as usize);
    let mut r = Reader(&bytes[HEADER..]);
    let table = r.f32s(VOCAB * g, Name(None, "the token table"))?;
    let positions = r.f32s(p * g, Name(None, "the position columns"))?;
    let mut layers = Vec::with_capacity(layer_count as usize);
    for k in 0..layer_count as usize {
        let (w_ih, bias) = if k > 0 {
            let w_ih = r.matrix(g, h, Name(Some(k), "W_ih"))?;
            (Some(w_ih), r.f32s(g, Name(Some(k), "bias"))?)
        } else {
            (None, Vec::new())
        };
        let w_hh = r.matrix(g, h, Name(Some(k), "W_hh"))?;
        layers.push(QuantLayerWeights { w_ih, w_hh, bias });
    }
    Ok(QuantWeights {
        table,
        positions,
        layers,
        linear_w: r.f32s(VOCAB * h, Name(None, "the output weights"))?,
        linear_b: r.f32s(VOCAB, Name(None, "the output bias"))?,
    })
}

/// An array of the file in its errors: "layer 1's W_hh", "the token table".
#[derive(Clone, Copy)]
struct Name(Option<usize>, &'static str);

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self.0 {
            Some(k) => write!(f, "layer {k}'s {}", self.1),
            None => f.write_str(self.1),
        }
    }
}

/// The file after the header, front to back (its length is checked before the first read).
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (out, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        out
    }

    /// `n` f32, all finite (`scales`: and not negative).
    fn numbers(&mut self, n: usize, what: Name, scales: bool) -> Result<Vec<f32>, String> {
        let v: Vec<f32> = (self.take(4 * n).chunks_exact(4))
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        match v
            .iter()
            .position(|&x| !x.is_finite() || (scales && x < 0.0))
        {
            Some(i) if scales => Err(format!(
                "{what}'s row {i} has the scale {}, not a finite number ≥ 0",
                v[i]
            )),
            Some(i) => Err(format!("{what} holds {} at index {i}", v[i])),
            None => Ok(v),
        }
    }

    fn f32s(&mut self, n: usize, what: Name) -> Result<Vec<f32>, String> {
        self.numbers(n, what, false)
    }

    /// A matrix of `rows` × `cols`: its row scales, then its weights (in −127..=127).
    fn matrix(&mut self, rows: usize, cols: usize, what: Name) -> Result<QuantRows, String> {
        let scale = self.numbers(rows, what, true)?;
        let q: Vec<i8> = self.take(rows * cols).iter().map(|&b| b as i8).collect();
        if let Some(i) = q.iter().position(|&w| w == i8::MIN) {
            return Err(format!(
                "{what} holds −128 at index {i} (weights are −127 to 127)"
            ));
        }
        Ok(QuantRows { q, scale })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lstm::Layer;
    use tidepool_reservoir::SeededRng;

    /// A random model of embedding `e`, `layers` layers of `h` units and `p` position inputs.
    fn model(e: usize, h: usize, layers: usize, p: usize) -> Lstm {
        let mut rng = SeededRng::new(4, 0);
        let mut r = |n: usize| {
            (0..n)
                .map(|_| rng.symmetric_f64() as f32 * 0.4)
                .collect::<Vec<f32>>()
        };
        let layers = (0..layers)
            .map(|k| {
                let input = if k == 0 { e + p } else { h };
                Layer::new(
                    input,
                    h,
                    r(4 * h * input),
                    r(4 * h * h),
                    &r(4 * h),
                    &r(4 * h),
                )
            })
            .collect();
        Lstm::with_position(e, p, r(VOCAB * e), layers, r(VOCAB * h), r(VOCAB))
    }

    #[test]
    fn a_written_file_reads_back_to_the_same_model() {
        for (layers, p) in [(1, 0), (2, 0), (3, 0), (1, 16), (3, 16)] {
            let m = model(6, 12, layers, p);
            let bytes = write(&m).unwrap();
            assert_eq!(bytes.len() as u64, file_len(layers as u64, 12, p as u64));
            assert_eq!(weights(&bytes).unwrap(), QuantWeights::of(&m));
            let (mut a, mut b) = (QuantLstm::new(&m), read(&bytes).unwrap());
            assert_eq!(
                (b.layer_count(), b.hidden(), b.position_width()),
                (layers, 12, p)
            );
            for (i, t) in [60, 129, 129, 128, 64, 0, 129].into_iter().enumerate() {
                let (x, y) = (a.step(t, i as u8).to_vec(), b.step(t, i as u8).to_vec());
                assert_eq!(
                    x.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    y.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn models_of_another_shape_are_not_written() {
        let mut m = model(4, 8, 3, 0);
        m.layers.push(m.layers[2].clone());
        assert!(write(&m).unwrap_err().contains("4 layers of 8"));
        let mut m = model(4, 8, 2, 0);
        m.layers[1] = model(4, 6, 2, 0).layers[1].clone();
        assert!(write(&m)
            .unwrap_err()
            .contains("layer 1 is not 8 units wide"));
    }

    /// Each damage and the words its refusal must contain.
    #[test]
    fn corrupt_files_are_refused_with_a_clear_reason() {
        let good = write(&model(4, 8, 2, 0)).unwrap();
        let reason = |bytes: &[u8]| read(bytes).map(|_| ()).expect_err("must be refused");
        let with = |at: usize, b: &[u8]| {
            let mut v = good.clone();
            v[at..at + b.len()].copy_from_slice(b);
            v
        };
        let h = 8;
        let table = HEADER;
        let w_hh0 = table + 4 * VOCAB * 4 * h; // its scales, then its weights
        assert!(reason(&good[..7]).starts_with("truncated: 7 bytes"));
        assert!(reason(&good[..5000]).starts_with("truncated: 2 layers of 8 units need"));
        assert!(reason(&[good.as_slice(), &[0; 3]].concat()).starts_with("3 bytes after"));
        assert!(reason(&with(0, b"TPNG")).contains("the magic is not TPQL"));
        assert_eq!(
            reason(&with(4, &1u32.to_le_bytes())),
            "the format version is 1; this tidepool reads 2"
        );
        assert_eq!(
            reason(&with(8, &131u32.to_le_bytes())),
            "the vocabulary is 131; this tidepool reads 130"
        );
        assert_eq!(
            reason(&with(12, &4u32.to_le_bytes())),
            "4 LSTM layers, not 1 to 3"
        );
        assert_eq!(
            reason(&with(12, &0u32.to_le_bytes())),
            "0 LSTM layers, not 1 to 3"
        );
        // Another layer count or position input on this file: the length no longer fits.
        assert!(reason(&with(12, &3u32.to_le_bytes())).starts_with("truncated: 3 layers"));
        assert!(reason(&with(12, &1u32.to_le_bytes())).contains("bytes after"));
        assert!(reason(&with(20, &16u32.to_le_bytes())).starts_with("truncated"));
        assert_eq!(
            reason(&with(20, &5u32.to_le_bytes())),
            "5 position inputs, not 0 or 16"
        );
        assert!(reason(&with(16, &0u32.to_le_bytes())).contains("0 hidden units"));
        assert!(reason(&with(16, &u32::MAX.to_le_bytes())).contains("4294967295 hidden units"));
        assert_eq!(
            reason(&with(16, &513u32.to_le_bytes())),
            "513 hidden units, not 1–512"
        );
        // A wider model's header on this file: the length no longer fits.
        assert!(reason(&with(16, &9u32.to_le_bytes())).starts_with("truncated"));
        assert!(reason(&with(16, &7u32.to_le_bytes())).contains("bytes after"));
        let nan = f32::NAN.to_le_bytes();
        assert_eq!(
            reason(&with(table + 8, &nan)),
            "the token table holds NaN at index 2"
        );
        assert_eq!(
            reason(&with(w_hh0 + 4, &(-1.0f32).to_le_bytes())),
            "layer 0's W_hh's row 1 has the scale -1, not a finite number ≥ 0"
        );
        assert_eq!(
            reason(&with(w_hh0 + 4 * 4 * h + 5, &[0x80])),
            "layer 0's W_hh holds −128 at index 5 (weights are −127 to 127)"
        );
        let bias1 = w_hh0 + 2 * (4 * 4 * h + 4 * h * h);
        assert_eq!(
            reason(&with(bias1, &f32::INFINITY.to_le_bytes())),
            "layer 1's bias holds inf at index 0"
        );
        let positioned = write(&model(4, 8, 1, 16)).unwrap();
        let mut bad = positioned.clone();
        let column = HEADER + 4 * VOCAB * 4 * h + 4 * (4 * h + 3);
        bad[column..column + 4].copy_from_slice(&f32::NEG_INFINITY.to_le_bytes());
        assert_eq!(
            reason(&bad),
            format!("the position columns holds -inf at index {}", 4 * h + 3)
        );
        let out_b = good.len() - 4;
        assert_eq!(
            reason(&with(out_b, &nan)),
            "the output bias holds NaN at index 129"
        );
    }

    /// Random damage anywhere: never a panic, and a refusal always says something.
    #[test]
    fn mutated_files_never_panic() {
        let good = write(&model(4, 8, 2, 16)).unwrap();
        let mut rng = SeededRng::new(12, 0);
        let mut loaded = 0;
        for case in 0..3000 {
            let mut bytes = good.clone();
            for _ in 0..1 + rng.below(3) {
                let span = if rng.below(2) == 0 {
                    HEADER + 8
                } else {
                    bytes.len()
                };
                let at = rng.below(span.min(bytes.len()).max(1));
                match rng.below(4) {
                    0 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
                    1 if at < bytes.len() => bytes[at] = rng.below(256) as u8,
                    2 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => bytes.truncate(at),
                }
            }
            match read(&bytes) {
                Ok(_) => loaded += 1,
                Err(e) => assert!(e.len() > 15, "case {case}: {e}"),
            }
        }
        assert!(
            loaded > 10,
            "{loaded} mutations still load (flipped weights)"
        );
    }
}
