//! Loads a melody LSTM from safetensors: PyTorch's state-dict names and shapes
//! (`embedding.weight`, `lstm.weight_ih_l0` … `lstm.bias_hh_l{k}` for 1–3 layers,
//! `linear.weight`, `linear.bias`), f16 or f32, and metadata that says what the tokens mean and
//! whether the first layer takes the metrical position (`position_input`). The shipped model and
//! a musician's own file go through the same checks; an error says exactly what is wrong, and
//! nothing half-loaded is ever returned.

/// The workspace's JSON reader (also `tidepool_engine::performance`'s).
pub mod json_header;

use crate::lstm::{Layer, Lstm, POSITIONS};
use crate::tokens::VOCAB;
use json_header::Value;
use std::collections::HashMap;

/// The metadata `format_version` this loader reads.
pub const FORMAT_VERSION: &str = "1";
/// Files larger than this are refused before parsing (the shipped model is under 2 MB).
const MAX_BYTES: usize = 64 << 20;

/// What the file's metadata says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelInfo {
    pub metadata: HashMap<String, String>,
    pub embedding_dim: usize,
    pub hidden: usize,
    pub layers: usize,
    /// 0, or [`POSITIONS`] when the metadata's `position_input` is "16".
    pub position_width: usize,
}

/// One tensor: shape and values as f32.
struct Raw {
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// IEEE half to single precision (exact: every f16 is an f32).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: normalise.
            let shift = f.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | (((f << shift) & 0x3ff) << 13)
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

/// The tensors by name, and the metadata.
type Contents = (HashMap<String, Raw>, HashMap<String, String>);

fn tensors(bytes: &[u8]) -> Result<Contents, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "the file is {} bytes, more than a melody model can be",
            bytes.len()
        ));
    }
    if bytes.len() < 8 {
        return Err(
            "the file is truncated: shorter than the 8-byte safetensors header length".into(),
        );
    }
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let data_start = usize::try_from(header_len)
        .ok()
        .and_then(|len| len.checked_add(8))
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            if bytes[8..].first() == Some(&b'{') {
                format!(
                    "the file is truncated: its header says {header_len} bytes but the file has {}",
                    bytes.len()
                )
            } else {
                // A MIDI file or a picture dropped by mistake: "truncated" would mislead.
                "not a safetensors file: it does not start with a header length and a JSON header"
                    .into()
            }
        })?;
    let header = json_header::parse(&bytes[8..data_start]).map_err(|e| {
        if e.unsupported {
            format!("the header is not a safetensors header: {e}")
        } else {
            format!("the header is not JSON: {e}")
        }
    })?;
    let Value::Object(header) = header else {
        return Err("the header is not a JSON object".into());
    };
    let data = &bytes[data_start..];
    let mut metadata = HashMap::new();
    let mut out = HashMap::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            let Value::Object(entries) = entry else {
                return Err("__metadata__ is not an object".into());
            };
            for (k, v) in entries {
                let Value::String(v) = v else {
                    return Err(format!(
                        "__metadata__ `{k}` is not a string (safetensors metadata maps strings \
                         to strings)"
                    ));
                };
                metadata.insert(k, v);
            }
            continue;
        }
        let dtype = entry
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or(format!("`{name}` has no dtype"))?;
        let width = match dtype {
            "F16" => 2,
            "F32" => 4,
            other => return Err(format!("`{name}` is {other}; weights must be F16 or F32")),
        };
        let shape: Vec<usize> = entry
            .get("shape")
            .and_then(Value::as_array)
            .ok_or(format!("`{name}` has no shape"))?
            .iter()
            .map(|d| {
                d.as_u64()
                    .and_then(|d| usize::try_from(d).ok())
                    .ok_or(format!("`{name}` has a bad shape"))
            })
            .collect::<Result<_, _>>()?;
        let offsets = entry
            .get("data_offsets")
            .and_then(Value::as_array)
            .ok_or(format!("`{name}` has no data_offsets"))?;
        let (begin, end) = match offsets {
            [Value::Integer(b), Value::Integer(e)] => (*b, *e),
            _ => return Err(format!("`{name}` has bad data_offsets")),
        };
        if end < begin || end > data.len() as u64 {
            return Err(format!(
                "`{name}` lies outside the file (truncated?): bytes {begin}..{end} of {}",
                data.len()
            ));
        }
        // Both fit: they are at most `data.len()`.
        let (begin, end) = (begin as usize, end as usize);
        let needed = shape
            .iter()
            .try_fold(width, |n: usize, &d| n.checked_mul(d));
        if needed != Some(end - begin) {
            return Err(match needed {
                Some(needed) => format!(
                    "`{name}` holds {} bytes but its shape {shape:?} needs {needed}",
                    end - begin
                ),
                None => format!("`{name}` has shape {shape:?}, far more than the file holds"),
            });
        }
        let raw = &data[begin..end];
        let values: Vec<f32> = if width == 2 {
            raw.chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect()
        } else {
            raw.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!("`{name}` holds a non-finite value at index {i}"));
        }
        out.insert(name, Raw { shape, values });
    }
    Ok((out, metadata))
}

/// LSTM layers a model file may have.
pub const LAYERS: std::ops::RangeInclusive<usize> = 1..=3;
/// Hidden units per layer a model file may have.
pub const HIDDEN: std::ops::RangeInclusive<usize> = 64..=512;
/// Embedding widths a model file may have.
pub const EMBEDDING: std::ops::RangeInclusive<usize> = 8..=512;

/// The position input the metadata `position_input` asks for: 0 (absent or "0") or 16.
fn position_width(metadata: &HashMap<String, String>) -> Result<usize, String> {
    match metadata.get("position_input").map(String::as_str) {
        None | Some("0") => Ok(0),
        Some("16") => Ok(POSITIONS),
        Some(other) => Err(format!(
            "position_input is `{other}`; tidepool reads \"16\" (a one-hot of the 16th in the \
             bar after the embedding) or \"0\" (none)"
        )),
    }
}

/// Parses and validates a model file (1–3 layers of 64–512 units, an embedding 8–512 wide, the
/// position input its metadata says); the model starts at rest.
pub fn load(bytes: &[u8]) -> Result<(Lstm, ModelInfo), String> {
    let (mut t, metadata) = tensors(bytes)?;
    match metadata.get("format_version").map(String::as_str) {
        Some(FORMAT_VERSION) => {}
        Some(other) => {
            return Err(format!(
                "format_version is {other}; this tidepool reads version {FORMAT_VERSION}"
            ))
        }
        None => return Err("the metadata has no format_version".into()),
    }
    if let Some(v) = metadata.get("vocab_size") {
        if v != &VOCAB.to_string() {
            return Err(format!("vocab_size is {v}; tidepool's tokens are {VOCAB}"));
        }
    }
    let p = position_width(&metadata)?;
    // The layers are the `weight_ih` tensors numbered from 0 without a gap.
    let layers = (0..)
        .take_while(|k| t.contains_key(&format!("lstm.weight_ih_l{k}")))
        .count();
    if !LAYERS.contains(&layers) {
        return Err(if layers == 0 {
            "the file has no `lstm.weight_ih_l0`: not a melody LSTM".into()
        } else {
            format!(
                "the file has {layers} LSTM layers; tidepool plays {} to {}",
                LAYERS.start(),
                LAYERS.end()
            )
        });
    }
    let mut take = |name: &str, shape: &[Option<usize>]| -> Result<Raw, String> {
        let raw = t.remove(name).ok_or(format!("the file has no `{name}`"))?;
        let fits = raw.shape.len() == shape.len()
            && raw
                .shape
                .iter()
                .zip(shape)
                .all(|(a, b)| b.is_none_or(|b| *a == b));
        if !fits {
            let want: Vec<String> = shape
                .iter()
                .map(|d| d.map_or("any".into(), |d| d.to_string()))
                .collect();
            return Err(format!(
                "`{name}` has shape {:?}, expected [{}]",
                raw.shape,
                want.join(", ")
            ));
        }
        Ok(raw)
    };
    let embedding = take("embedding.weight", &[None, None])?;
    if embedding.shape[0] != VOCAB {
        return Err(format!(
            "`embedding.weight` has {} rows: a vocabulary of {}, but tidepool's tokens are {VOCAB}",
            embedding.shape[0], embedding.shape[0]
        ));
    }
    let e = embedding.shape[1];
    if !EMBEDDING.contains(&e) {
        return Err(format!(
            "the embedding is {e} wide; tidepool plays {} to {}",
            EMBEDDING.start(),
            EMBEDDING.end()
        ));
    }
    let w_ih0 = take("lstm.weight_ih_l0", &[None, None])?;
    let h4 = w_ih0.shape[0];
    if h4 % 4 != 0 {
        return Err(format!("`lstm.weight_ih_l0` has {h4} rows, not 4 × hidden"));
    }
    let h = h4 / 4;
    if !HIDDEN.contains(&h) {
        return Err(format!(
            "the LSTM has {h} hidden units; tidepool plays {} to {}",
            HIDDEN.start(),
            HIDDEN.end()
        ));
    }
    if w_ih0.shape[1] != e + p {
        return Err(format!(
            "`lstm.weight_ih_l0` has {} columns, expected {} (the embedding's {e}{})",
            w_ih0.shape[1],
            e + p,
            if p > 0 {
                format!(" and {p} position inputs, as position_input says")
            } else {
                " and no position input, as the metadata has no position_input".into()
            }
        ));
    }
    let mut w_ih0 = Some(w_ih0.values);
    let mut built = Vec::with_capacity(layers);
    for k in 0..layers {
        let input = if k == 0 { e + p } else { h };
        let w_ih = match w_ih0.take() {
            Some(w) => w,
            None => take(&format!("lstm.weight_ih_l{k}"), &[Some(h4), Some(h)])?.values,
        };
        let w_hh = take(&format!("lstm.weight_hh_l{k}"), &[Some(h4), Some(h)])?.values;
        let b_ih = take(&format!("lstm.bias_ih_l{k}"), &[Some(h4)])?.values;
        let b_hh = take(&format!("lstm.bias_hh_l{k}"), &[Some(h4)])?.values;
        built.push(Layer::new(input, h, w_ih, w_hh, &b_ih, &b_hh));
    }
    let linear_w = take("linear.weight", &[Some(VOCAB), Some(h)])?.values;
    let linear_b = take("linear.bias", &[Some(VOCAB)])?.values;
    if let Some(extra) = t.keys().min() {
        return Err(format!(
            "the file has an unexpected tensor `{extra}` (another kind of model?)"
        ));
    }
    let info = ModelInfo {
        metadata,
        embedding_dim: e,
        hidden: h,
        layers,
        position_width: p,
    };
    Ok((
        Lstm::with_position(e, p, embedding.values, built, linear_w, linear_b),
        info,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use tidepool_reservoir::SeededRng;

    /// A safetensors file (F32) from (name, shape, values) and metadata.
    fn file(tensors: &[(String, Vec<usize>, Vec<f32>)], meta: &[(&str, &str)]) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, shape, values) in tensors {
            let begin = data.len();
            values
                .iter()
                .for_each(|v| data.extend_from_slice(&v.to_le_bytes()));
            header.insert(name.clone(), serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [begin, data.len()]}));
        }
        let meta: serde_json::Map<String, Value> = meta
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
        header.insert("__metadata__".into(), Value::Object(meta));
        let text = serde_json::to_vec(&Value::Object(header)).unwrap();
        let mut out = (text.len() as u64).to_le_bytes().to_vec();
        out.extend(text);
        out.extend(data);
        out
    }

    /// The tensors of a random model: embedding `e`, `layers` layers of `h` units, `p` position
    /// inputs.
    fn tiny(e: usize, h: usize, layers: usize, p: usize) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut rng = SeededRng::new(9, 0);
        let mut r = |n: usize| {
            (0..n)
                .map(|_| rng.symmetric_f64() as f32 * 0.3)
                .collect::<Vec<f32>>()
        };
        let mut t = vec![("embedding.weight".to_string(), vec![VOCAB, e], r(VOCAB * e))];
        for k in 0..layers {
            let input = if k == 0 { e + p } else { h };
            t.push((
                format!("lstm.weight_ih_l{k}"),
                vec![4 * h, input],
                r(4 * h * input),
            ));
            t.push((format!("lstm.weight_hh_l{k}"), vec![4 * h, h], r(4 * h * h)));
            t.push((format!("lstm.bias_ih_l{k}"), vec![4 * h], r(4 * h)));
            t.push((format!("lstm.bias_hh_l{k}"), vec![4 * h], r(4 * h)));
        }
        t.push(("linear.weight".to_string(), vec![VOCAB, h], r(VOCAB * h)));
        t.push(("linear.bias".to_string(), vec![VOCAB], r(VOCAB)));
        t
    }

    const META: &[(&str, &str)] = &[("format_version", "1"), ("vocab_size", "130")];
    const META_POSITION: &[(&str, &str)] = &[("format_version", "1"), ("position_input", "16")];

    #[test]
    fn files_of_1_to_3_layers_with_or_without_position_load_and_step() {
        for layers in 1..=3 {
            for (p, meta) in [(0, META), (16, META_POSITION)] {
                let (mut model, info) = load(&file(&tiny(8, 64, layers, p), meta)).unwrap();
                assert_eq!(
                    (
                        info.embedding_dim,
                        info.hidden,
                        info.layers,
                        info.position_width
                    ),
                    (8, 64, layers, p)
                );
                assert_eq!(model.layers.len(), layers);
                let logits = model.step(60, 3).to_vec();
                assert_eq!(logits.len(), VOCAB);
                assert!(logits.iter().all(|v| v.is_finite()));
            }
        }
        // "0" is the same as no position_input.
        let zero = [("format_version", "1"), ("position_input", "0")];
        assert_eq!(
            load(&file(&tiny(8, 64, 1, 0), &zero))
                .unwrap()
                .1
                .position_width,
            0
        );
    }

    #[test]
    fn corrupt_files_are_refused_with_a_clear_reason() {
        let good = file(&tiny(8, 64, 2, 0), META);
        let reason = |bytes: &[u8]| load(bytes).map(|_| ()).expect_err("must be refused");
        assert!(reason(&good[..good.len() - 10]).contains("truncated"));
        assert!(reason(&good[..5]).contains("truncated"));
        let mut t = tiny(8, 64, 2, 0);
        t[2].1 = vec![4 * 64, 7];
        t[2].2.truncate(4 * 64 * 7);
        assert_eq!(
            reason(&file(&t, META)),
            "`lstm.weight_hh_l0` has shape [256, 7], expected [256, 64]"
        );
        let mut t = tiny(8, 64, 2, 0);
        t[4].2[3] = f32::NAN;
        let msg = reason(&file(&t, META));
        assert!(
            msg.contains("non-finite") && msg.contains("lstm.bias_hh_l0"),
            "{msg}"
        );
        let mut t = tiny(8, 64, 2, 0);
        t[6].2[0] = f32::INFINITY;
        assert_eq!(
            reason(&file(&t, META)),
            "`lstm.weight_hh_l1` holds a non-finite value at index 0"
        );
        assert!(
            reason(&file(&tiny(8, 64, 2, 0), &[("format_version", "2")]))
                .contains("format_version is 2")
        );
        assert!(reason(&file(&tiny(8, 64, 2, 0), &[])).contains("no format_version"));
        assert!(reason(&file(&tiny(8, 64, 2, 0)[1..], META)).contains("no `embedding.weight`"));
        let mut t = tiny(8, 64, 2, 0);
        t.push(("attention.weight".into(), vec![1], vec![0.0]));
        assert!(reason(&file(&t, META)).contains("unexpected tensor `attention.weight`"));
        // A layer's tensor missing.
        let t: Vec<_> = tiny(8, 64, 2, 0)
            .into_iter()
            .filter(|(n, ..)| n != "lstm.bias_ih_l1")
            .collect();
        assert_eq!(reason(&file(&t, META)), "the file has no `lstm.bias_ih_l1`");
        assert_eq!(
            reason(b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk"),
            "not a safetensors file: it does not start with a header length and a JSON header"
        );
        assert!(reason(b"\xff\xff\xff\xff\xff\xff\xff\x7f{junk").contains("truncated"));
        assert!(reason(b"MThd\0\0\0\x06\0\x01\0\x02\x01\xe0").starts_with("not a safetensors"));
        assert!(
            reason(&[8, 0, 0, 0, 0, 0, 0, 0, b'n', b'o', b't', b' ', b'j', b's', b'o', b'n'])
                .contains("not JSON")
        );
    }

    #[test]
    fn files_outside_the_playable_shapes_are_refused_naming_what() {
        let reason = |t: &[(String, Vec<usize>, Vec<f32>)], meta: &[(&str, &str)]| {
            load(&file(t, meta))
                .map(|_| ())
                .expect_err("must be refused")
        };
        // Four layers.
        let mut t = tiny(8, 64, 3, 0);
        t.push((
            "lstm.weight_ih_l3".into(),
            vec![256, 64],
            vec![0.0; 256 * 64],
        ));
        assert_eq!(
            reason(&t, META),
            "the file has 4 LSTM layers; tidepool plays 1 to 3"
        );
        // No layer at all.
        let t: Vec<_> = tiny(8, 64, 1, 0)
            .into_iter()
            .filter(|(n, ..)| !n.starts_with("lstm."))
            .collect();
        assert_eq!(
            reason(&t, META),
            "the file has no `lstm.weight_ih_l0`: not a melody LSTM"
        );
        // Hidden sizes out of range (a small one whole; a big one's first matrix is enough).
        assert_eq!(
            reason(&tiny(8, 32, 1, 0), META),
            "the LSTM has 32 hidden units; tidepool plays 64 to 512"
        );
        let mut big = tiny(8, 64, 1, 0);
        big[1] = (
            "lstm.weight_ih_l0".into(),
            vec![4 * 513, 8],
            vec![0.0; 4 * 513 * 8],
        );
        assert_eq!(
            reason(&big, META),
            "the LSTM has 513 hidden units; tidepool plays 64 to 512"
        );
        let mut odd = tiny(8, 64, 1, 0);
        odd[1] = ("lstm.weight_ih_l0".into(), vec![255, 8], vec![0.0; 255 * 8]);
        assert!(reason(&odd, META).contains("255 rows, not 4 × hidden"));
        // Embedding width and vocabulary.
        assert_eq!(
            reason(&tiny(4, 64, 1, 0), META),
            "the embedding is 4 wide; tidepool plays 8 to 512"
        );
        let mut t = tiny(8, 64, 1, 0);
        t[0] = ("embedding.weight".into(), vec![129, 8], vec![0.0; 129 * 8]);
        assert_eq!(
            reason(&t, META),
            "`embedding.weight` has 129 rows: a vocabulary of 129, but tidepool's tokens are 130"
        );
        assert_eq!(
            reason(
                &tiny(8, 64, 1, 0),
                &[("format_version", "1"), ("vocab_size", "128")]
            ),
            "vocab_size is 128; tidepool's tokens are 130"
        );
        // The position input: metadata and shapes must agree.
        assert_eq!(
            reason(&tiny(8, 64, 1, 0), META_POSITION),
            "`lstm.weight_ih_l0` has 8 columns, expected 24 (the embedding's 8 and 16 position \
             inputs, as position_input says)"
        );
        assert_eq!(
            reason(&tiny(8, 64, 1, 16), META),
            "`lstm.weight_ih_l0` has 24 columns, expected 8 (the embedding's 8 and no position \
             input, as the metadata has no position_input)"
        );
        assert!(reason(
            &tiny(8, 64, 1, 0),
            &[("format_version", "1"), ("position_input", "8")]
        )
        .starts_with("position_input is `8`"));
        // A dtype that is not a float.
        let json = r#"{"x":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#;
        assert_eq!(
            load(&with_header(json, &[0; 4])).map(|_| ()).unwrap_err(),
            "`x` is I32; weights must be F16 or F32"
        );
        // Too big, before anything is parsed.
        let huge = vec![0u8; MAX_BYTES + 1];
        assert!(load(&huge)
            .map(|_| ())
            .unwrap_err()
            .contains("more than a melody model can be"));
    }

    /// A file with the header text `json` and the data `data`.
    fn with_header(json: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (json.len() as u64).to_le_bytes().to_vec();
        out.extend(json.as_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn header_errors_name_what_and_where() {
        let reason = |json: &str| {
            load(&with_header(json, &[0; 16]))
                .map(|_| ())
                .expect_err(json)
        };
        assert_eq!(
            reason(r#"{"a" 1}"#),
            "the header is not JSON: expected `:` after an object key, found `1` at byte 5 of \
             the JSON header"
        );
        assert_eq!(
            reason(r#"{"__metadata__":{"format_version":null}}"#),
            "the header is not a safetensors header: `null`, which a safetensors header never \
             holds (only objects, arrays, strings and non-negative integers) at byte 34 of the \
             JSON header"
        );
        let twice = r#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{}}"#;
        assert!(reason(twice).contains("duplicate key `b` at byte 54"));
        let negative = reason(r#"{"x":{"shape":[-1]}}"#);
        assert!(
            negative.contains("a negative number")
                && negative.ends_with("at byte 15 of the JSON header")
        );
        let float = reason(r#"{"x":{"shape":[1.0]}}"#);
        assert!(
            float.contains("fraction or exponent")
                && float.ends_with("at byte 15 of the JSON header")
        );
        assert_eq!(reason("[]"), "the header is not a JSON object");
        assert_eq!(
            reason(r#"{"__metadata__":{"format_version":1}}"#),
            "__metadata__ `format_version` is not a string (safetensors metadata maps strings \
             to strings)"
        );
        assert_eq!(
            reason(r#"{"__metadata__":[]}"#),
            "__metadata__ is not an object"
        );
        assert_eq!(reason(r#"{"x":1}"#), "`x` has no dtype");
        assert_eq!(
            reason(r#"{"x":{"dtype":"I8"}}"#),
            "`x` is I8; weights must be F16 or F32"
        );
        assert_eq!(reason(r#"{"x":{"dtype":"F32"}}"#), "`x` has no shape");
        assert_eq!(
            reason(r#"{"x":{"dtype":"F32","shape":["1"]}}"#),
            "`x` has a bad shape"
        );
        assert_eq!(
            reason(r#"{"x":{"dtype":"F32","shape":[1]}}"#),
            "`x` has no data_offsets"
        );
        for offsets in [r#"["0","4"]"#, "[0]", "[0,4,8]", "[0,[4]]"] {
            let json = format!(r#"{{"x":{{"dtype":"F32","shape":[1],"data_offsets":{offsets}}}}}"#);
            assert_eq!(reason(&json), "`x` has bad data_offsets");
        }
        for (offsets, bytes) in [
            ("[8,4]", "8..4"),
            ("[0,17]", "0..17"),
            ("[4294967296,4294967300]", "4294967296..4294967300"),
        ] {
            let json = format!(r#"{{"x":{{"dtype":"F32","shape":[1],"data_offsets":{offsets}}}}}"#);
            assert_eq!(
                reason(&json),
                format!("`x` lies outside the file (truncated?): bytes {bytes} of 16")
            );
        }
        // Shapes whose element count overflows are refused, not wrapped (or a panic).
        let huge = r#"{"x":{"dtype":"F16","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#;
        assert_eq!(
            reason(huge),
            "`x` has shape [4294967296, 4294967296], far more than the file holds"
        );
        let wraps = r#"{"x":{"dtype":"F16","shape":[9223372036854775808],"data_offsets":[0,0]}}"#;
        assert!(reason(wraps).contains("far more than the file holds"));
    }

    /// Mutated files (the shipped model's header with its data, and a small whole file): no
    /// panic, and every refusal says something.
    #[test]
    fn mutated_files_never_panic() {
        let shipped = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../web/models/melody-lstm.safetensors"
        ))
        .unwrap();
        let header_end = 8 + u64::from_le_bytes(shipped[..8].try_into().unwrap()) as usize;
        let small = file(&tiny(8, 64, 1, 0), META);
        let mut rng = SeededRng::new(11, 3);
        let mut loaded = 0;
        for case in 0..3000 {
            let mut bytes = if case % 10 == 0 {
                shipped.clone()
            } else {
                small.clone()
            };
            let header_end = if case % 10 == 0 {
                header_end
            } else {
                8 + u64::from_le_bytes(small[..8].try_into().unwrap()) as usize
            };
            for _ in 0..1 + rng.below(3) {
                // Mostly the header (length included), sometimes anywhere.
                let span = if rng.below(4) == 0 {
                    bytes.len()
                } else {
                    header_end
                };
                let at = rng.below(span);
                match rng.below(4) {
                    0 => bytes[at] ^= 1 << rng.below(8),
                    1 => {
                        const BYTES: &[u8] = b"{}[]\":,0189-. \\u\xff";
                        bytes[at] = BYTES[rng.below(BYTES.len())]
                    }
                    2 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, rng.below(256) as u8),
                }
            }
            match load(&bytes) {
                Ok(_) => loaded += 1,
                Err(e) => assert!(e.len() > 20, "case {case}: {e}"),
            }
        }
        assert!(
            loaded > 10,
            "{loaded} mutations still load (spaces, metadata text)"
        );
    }

    #[test]
    fn half_precision_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8, "smallest subnormal");
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite() && f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }
}
