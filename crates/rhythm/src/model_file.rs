//! Rhythm model files: safetensors (8-byte little-endian header length, JSON header, raw
//! little-endian f32 data) with the state-dict names of the PyTorch module in
//! `tools/rhythm/model.py`, so `load_state_dict(strict=True)` reads them:
//!
//! - `encoder = nn.Sequential(Linear, ReLU, [Dropout,] …, Linear)`: `encoder.{i}.weight`,
//!   `encoder.{i}.bias`, `i` as `nn.Sequential` numbers the modules (model 2's dropout layers
//!   count: `encoder.0`, `encoder.3`, `encoder.6`; otherwise `encoder.0`, `encoder.2`, …);
//! - `decoder = nn.Sequential(Linear, ReLU, [Dropout,] …, Linear)` (the output logits; the
//!   sigmoid is applied in `forward`): `decoder.{i}.weight`, `decoder.{i}.bias`;
//! - `velocity = nn.Linear(last hidden, 32)` when the model has a velocity head.
//!
//! Weights are `[out, in]` as `nn.Linear` stores them. `__metadata__` (strings) holds
//! `format` = "tidepool-rhythm", `format_version` = "1", `arch`, `velocity_head`, `epochs`,
//! `seed`, `data_count`, `final_loss` and `tidepool_version`. The reader refuses anything it
//! cannot trust, naming the tensor or field.

use crate::arch::Arch;
use crate::decoder::Decoder;
use crate::dense::Dense;
use crate::model::{Autoencoder, TrainingInfo};
use crate::pattern::STEPS;
use std::collections::BTreeMap;
use tidepool_melody::model_file::json_header::{self, Value};

/// The metadata `format_version` this code writes and reads.
pub const FORMAT_VERSION: &str = "1";
/// Larger files are refused before parsing (the largest model is under 20 KB).
const MAX_BYTES: usize = 1 << 20;

/// `nn.Sequential` index of the `k`-th Linear of an encoder or decoder half: each hidden layer
/// is followed by ReLU and, when the architecture has dropout, a Dropout module.
fn sequential_index(arch: Arch, k: usize) -> usize {
    k * if arch.dropout() > 0.0 { 3 } else { 2 }
}

/// Every tensor of a model of `arch`: (name, layer widths as (inputs, outputs)).
pub fn tensor_layout(arch: Arch, velocity_head: bool) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let enc = arch.encoder_sizes().to_vec();
    for (half, sizes) in [("encoder", enc), ("decoder", arch.decoder_sizes())] {
        for (k, io) in sizes.windows(2).enumerate() {
            out.push((
                format!("{half}.{}", sequential_index(arch, k)),
                io[0],
                io[1],
            ));
        }
    }
    if velocity_head {
        out.push(("velocity".into(), arch.last_hidden(), STEPS));
    }
    out
}

/// The model as a safetensors file.
pub fn write(model: &Autoencoder) -> Vec<u8> {
    let decoder = model.decoder_ref();
    let layers: Vec<&Dense> = model
        .encoder_layers()
        .iter()
        .chain(decoder.layers())
        .chain(decoder.velocity_head())
        .collect();
    let layout = tensor_layout(model.arch(), decoder.has_velocity_head());
    let mut header = String::from("{\"__metadata__\":{");
    let mut meta = vec![
        ("format", "tidepool-rhythm".to_string()),
        ("format_version", FORMAT_VERSION.into()),
        ("arch", model.arch().name().into()),
        ("velocity_head", decoder.has_velocity_head().to_string()),
        ("tidepool_version", env!("CARGO_PKG_VERSION").into()),
    ];
    if let Some(t) = &model.training {
        meta.push(("epochs", t.epochs.to_string()));
        meta.push(("seed", t.seed.to_string()));
        meta.push(("data_count", t.data_count.to_string()));
        meta.push(("final_loss", t.final_loss.to_string()));
    }
    let fields: Vec<String> = meta
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    header.push_str(&fields.join(","));
    header.push('}');
    let mut data = Vec::new();
    for ((name, _, _), layer) in layout.iter().zip(&layers) {
        for (suffix, values, shape) in [
            (
                "weight",
                &layer.weight,
                format!("[{},{}]", layer.outputs, layer.inputs),
            ),
            ("bias", &layer.bias, format!("[{}]", layer.outputs)),
        ] {
            let begin = data.len();
            for v in values.iter() {
                data.extend_from_slice(&v.to_le_bytes());
            }
            header.push_str(&format!(
                ",\"{name}.{suffix}\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[{begin},{}]}}",
                data.len()
            ));
        }
    }
    header.push('}');
    // Pad with spaces so the data starts 8-aligned, as the safetensors writers do.
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend(data);
    out
}

/// One tensor's shape and values.
struct Tensor {
    shape: Vec<u64>,
    values: Vec<f32>,
}

/// The header's tensors (F32 only) by name, and metadata.
type Contents = (BTreeMap<String, Tensor>, BTreeMap<String, String>);

fn contents(bytes: &[u8]) -> Result<Contents, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "the file is {} bytes, more than a rhythm model can be ({MAX_BYTES})",
            bytes.len()
        ));
    }
    let len_bytes: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or("the file is truncated: shorter than the 8-byte safetensors header length")?;
    let header_len = u64::from_le_bytes(len_bytes);
    let data_start = usize::try_from(header_len)
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            format!(
                "the file is truncated or not safetensors: its header length says {header_len} \
                 bytes but the file has {}",
                bytes.len()
            )
        })?;
    let header = json_header::parse(&bytes[8..data_start])
        .map_err(|e| format!("the safetensors header is not valid: {e}"))?;
    let Value::Object(entries) = header else {
        return Err("the safetensors header is not a JSON object".into());
    };
    let data = &bytes[data_start..];
    let mut tensors = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    for (name, entry) in entries {
        if name == "__metadata__" {
            let Value::Object(fields) = entry else {
                return Err("__metadata__ is not an object".into());
            };
            for (k, v) in fields {
                let Value::String(v) = v else {
                    return Err(format!("__metadata__ `{k}` is not a string"));
                };
                metadata.insert(k, v);
            }
            continue;
        }
        match entry.get("dtype").and_then(Value::as_str) {
            Some("F32") => {}
            Some(other) => return Err(format!("`{name}` is {other}; rhythm models are F32")),
            None => return Err(format!("`{name}` has no dtype")),
        }
        let shape: Vec<u64> = entry
            .get("shape")
            .and_then(Value::as_array)
            .ok_or(format!("`{name}` has no shape"))?
            .iter()
            .map(|d| d.as_u64().ok_or(format!("`{name}` has a bad shape")))
            .collect::<Result<_, _>>()?;
        let (begin, end) = match entry.get("data_offsets").and_then(Value::as_array) {
            Some([Value::Integer(b), Value::Integer(e)]) => (*b, *e),
            _ => return Err(format!("`{name}` has no valid data_offsets")),
        };
        if begin > end || end > data.len() as u64 {
            return Err(format!(
                "`{name}` lies outside the file (truncated?): bytes {begin}..{end} of {}",
                data.len()
            ));
        }
        let raw = &data[begin as usize..end as usize];
        let count = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        if count.and_then(|c| c.checked_mul(4)) != Some(raw.len() as u64) {
            return Err(format!(
                "`{name}` holds {} bytes, not what its shape {shape:?} of f32 needs",
                raw.len()
            ));
        }
        let values: Vec<f32> = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!("`{name}` holds a non-finite value at index {i}"));
        }
        tensors.insert(name, Tensor { shape, values });
    }
    Ok((tensors, metadata))
}

/// A metadata number, if present; an error if present but not a number.
fn number<T: std::str::FromStr>(
    meta: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<T>, String> {
    meta.get(key)
        .map(|v| {
            v.parse()
                .map_err(|_| format!("__metadata__ `{key}` is `{v}`, not a number"))
        })
        .transpose()
}

/// Reads a model file written by [`write`] (or by `tools/rhythm/model.py`).
pub fn read(bytes: &[u8]) -> Result<Autoencoder, String> {
    let (mut tensors, meta) = contents(bytes)?;
    if let Some(f) = meta
        .get("format")
        .filter(|f| f.as_str() != "tidepool-rhythm")
    {
        return Err(format!(
            "the file is a `{f}` model, not a tidepool rhythm model"
        ));
    }
    match meta.get("format_version").map(String::as_str) {
        Some(FORMAT_VERSION) | None => {}
        Some(v) => {
            return Err(format!(
            "format_version is {v}; this tidepool reads rhythm models of version {FORMAT_VERSION}"
        ))
        }
    }
    let arch = Arch::from_name(
        meta.get("arch")
            .ok_or("__metadata__ has no `arch` (prototype, model1, model2 or model3)")?,
    )?;
    let head = tensors.contains_key("velocity.weight");
    if let Some(v) = meta.get("velocity_head") {
        if v != &head.to_string() {
            return Err(format!(
                "__metadata__ says velocity_head is {v} but the file {} `velocity.weight`",
                if head { "has" } else { "has no" }
            ));
        }
    }
    let mut layers = Vec::new();
    for (name, inputs, outputs) in tensor_layout(arch, head) {
        let mut take = |suffix: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
            let full = format!("{name}.{suffix}");
            let t = tensors
                .remove(&full)
                .ok_or(format!("the {} file has no `{full}`", arch.name()))?;
            if !t
                .shape
                .iter()
                .map(|&d| d as usize)
                .eq(shape.iter().copied())
            {
                return Err(format!(
                    "`{full}` has shape {:?}; a {} model needs {shape:?}",
                    t.shape,
                    arch.name()
                ));
            }
            Ok(t.values)
        };
        let weight = take("weight", &[outputs, inputs])?;
        let bias = take("bias", &[outputs])?;
        layers.push(Dense {
            inputs,
            outputs,
            weight,
            bias,
        });
    }
    if let Some(extra) = tensors.keys().next() {
        return Err(format!(
            "the file has a tensor `{extra}` that a {} model does not (another architecture?)",
            arch.name()
        ));
    }
    let velocity = if head { layers.pop() } else { None };
    let decoder_layers = layers.split_off(arch.encoder_sizes().len() - 1);
    let decoder = Decoder::new(arch, decoder_layers, velocity)?;
    let mut model = Autoencoder::new(layers, decoder)?;
    let fields = (
        number::<usize>(&meta, "epochs")?,
        number::<u64>(&meta, "seed")?,
        number::<usize>(&meta, "data_count")?,
        number::<f32>(&meta, "final_loss")?,
    );
    if let (Some(epochs), Some(seed), Some(data_count), Some(final_loss)) = fields {
        model.training = Some(TrainingInfo {
            epochs,
            seed,
            data_count,
            final_loss,
        });
    }
    Ok(model)
}
