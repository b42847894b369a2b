//! Loads the melody LSTM from safetensors: PyTorch's state-dict names and shapes
//! (`embedding.weight`, `lstm.weight_ih_l0` … `lstm.bias_hh_l1`, `linear.weight`,
//! `linear.bias`), f16 or f32, and metadata that says what the tokens mean. Everything is
//! validated; an error says exactly what is wrong, and nothing half-loaded is ever returned.

use crate::lstm::{Layer, Lstm};
use crate::tokens::VOCAB;
use serde_json::Value;
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
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let data_start = 8usize
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| {
            format!(
                "the file is truncated: its header says {header_len} bytes but the file has {}",
                bytes.len()
            )
        })?;
    let header: Value = serde_json::from_slice(&bytes[8..data_start])
        .map_err(|e| format!("the header is not JSON: {e}"))?;
    let header = header
        .as_object()
        .ok_or("the header is not a JSON object")?;
    let data = &bytes[data_start..];
    let mut metadata = HashMap::new();
    let mut out = HashMap::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            for (k, v) in entry.as_object().ok_or("__metadata__ is not an object")? {
                metadata.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
            continue;
        }
        let dtype = entry["dtype"]
            .as_str()
            .ok_or(format!("`{name}` has no dtype"))?;
        let width = match dtype {
            "F16" => 2,
            "F32" => 4,
            other => return Err(format!("`{name}` is {other}; weights must be F16 or F32")),
        };
        let shape: Vec<usize> = entry["shape"]
            .as_array()
            .ok_or(format!("`{name}` has no shape"))?
            .iter()
            .map(|d| {
                d.as_u64()
                    .map(|d| d as usize)
                    .ok_or(format!("`{name}` has a bad shape"))
            })
            .collect::<Result<_, _>>()?;
        let offsets = entry["data_offsets"]
            .as_array()
            .ok_or(format!("`{name}` has no data_offsets"))?;
        let (begin, end) = match offsets.as_slice() {
            [b, e] => (
                b.as_u64().unwrap_or(u64::MAX) as usize,
                e.as_u64().unwrap_or(0) as usize,
            ),
            _ => return Err(format!("`{name}` has bad data_offsets")),
        };
        let count: usize = shape.iter().product();
        if end < begin || end > data.len() {
            return Err(format!(
                "`{name}` lies outside the file (truncated?): bytes {begin}..{end} of {}",
                data.len()
            ));
        }
        if end - begin != count * width {
            return Err(format!(
                "`{name}` holds {} bytes but its shape {shape:?} needs {}",
                end - begin,
                count * width
            ));
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
        out.insert(name.clone(), Raw { shape, values });
    }
    Ok((out, metadata))
}

/// Parses and validates a model file; the model starts at rest.
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
    let embedding = take("embedding.weight", &[Some(VOCAB), None])?;
    let e = embedding.shape[1];
    let w_ih0 = take("lstm.weight_ih_l0", &[None, Some(e)])?;
    let h4 = w_ih0.shape[0];
    if h4 % 4 != 0 || h4 == 0 {
        return Err(format!("`lstm.weight_ih_l0` has {h4} rows, not 4 × hidden"));
    }
    let h = h4 / 4;
    let mut layers = Vec::new();
    for k in 0..2 {
        let w_ih = if k == 0 {
            w_ih0.values.clone()
        } else {
            take(&format!("lstm.weight_ih_l{k}"), &[Some(h4), Some(h)])?.values
        };
        let w_hh = take(&format!("lstm.weight_hh_l{k}"), &[Some(h4), Some(h)])?.values;
        let b_ih = take(&format!("lstm.bias_ih_l{k}"), &[Some(h4)])?.values;
        let b_hh = take(&format!("lstm.bias_hh_l{k}"), &[Some(h4)])?.values;
        layers.push(Layer::new(
            if k == 0 { e } else { h },
            h,
            w_ih,
            w_hh,
            &b_ih,
            &b_hh,
        ));
    }
    let linear_w = take("linear.weight", &[Some(VOCAB), Some(h)])?.values;
    let linear_b = take("linear.bias", &[Some(VOCAB)])?.values;
    if let Some(extra) = t.keys().min() {
        return Err(format!(
            "the file has an unexpected tensor `{extra}` (a 3-layer LSTM or another model?)"
        ));
    }
    let info = ModelInfo {
        metadata,
        embedding_dim: e,
        hidden: h,
    };
    Ok((
        Lstm::new(e, embedding.values, layers, linear_w, linear_b),
        info,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn tiny(e: usize, h: usize) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let mut rng = SeededRng::new(9, 0);
        let mut r = |n: usize| {
            (0..n)
                .map(|_| rng.symmetric_f64() as f32 * 0.3)
                .collect::<Vec<f32>>()
        };
        let mut t = vec![("embedding.weight".to_string(), vec![VOCAB, e], r(VOCAB * e))];
        for k in 0..2 {
            let input = if k == 0 { e } else { h };
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

    #[test]
    fn a_valid_file_loads_and_steps() {
        let (mut model, info) = load(&file(&tiny(8, 12), META)).unwrap();
        assert_eq!((info.embedding_dim, info.hidden), (8, 12));
        let logits = model.step(60).to_vec();
        assert_eq!(logits.len(), VOCAB);
        assert!(logits.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn corrupt_files_are_refused_with_a_clear_reason() {
        let good = file(&tiny(8, 12), META);
        let reason = |bytes: &[u8]| load(bytes).map(|_| ()).expect_err("must be refused");
        assert!(reason(&good[..good.len() - 10]).contains("truncated"));
        assert!(reason(&good[..5]).contains("truncated"));
        let mut t = tiny(8, 12);
        t[2].1 = vec![4 * 12, 7];
        t[2].2.truncate(4 * 12 * 7);
        assert!(reason(&file(&t, META)).contains("lstm.weight_hh_l0"));
        let mut t = tiny(8, 12);
        t[4].2[3] = f32::NAN;
        let msg = reason(&file(&t, META));
        assert!(
            msg.contains("non-finite") && msg.contains("lstm.bias_hh_l0"),
            "{msg}"
        );
        assert!(
            reason(&file(&tiny(8, 12), &[("format_version", "2")])).contains("format_version is 2")
        );
        assert!(reason(&file(&tiny(8, 12), &[])).contains("no format_version"));
        assert!(reason(&file(&tiny(8, 12)[1..], META)).contains("no `embedding.weight`"));
        let mut t = tiny(8, 12);
        t.push(("lstm.weight_ih_l2".into(), vec![1], vec![0.0]));
        assert!(reason(&file(&t, META)).contains("unexpected tensor"));
        assert!(reason(b"\xff\xff\xff\xff\xff\xff\xff\x7fjunk").contains("truncated"));
        assert!(
            reason(&[8, 0, 0, 0, 0, 0, 0, 0, b'n', b'o', b't', b' ', b'j', b's', b'o', b'n'])
                .contains("not JSON")
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
