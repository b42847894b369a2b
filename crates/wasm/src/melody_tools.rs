//! The musician's own melody model file, for the page's melody-file worker (tools module only):
//! a PyTorch token LSTM in safetensors is read and checked exactly as the shipped model is
//! (`tidepool_melody::model_file::load`), quantized, and written as the `.tpq` bytes the engine
//! plays (`WasmEngine::install_melody_file`), with what the panel shows about it as JSON.

use tidepool_melody::model_file::{self, json_header::quote};
use tidepool_melody::quant_file;
use wasm_bindgen::prelude::*;

/// A model file read, checked and quantized.
#[wasm_bindgen]
pub struct MelodyFile {
    tpq: Vec<u8>,
    info: String,
}

#[wasm_bindgen]
impl MelodyFile {
    /// Reads a `.safetensors` melody LSTM (1–3 layers of 64–512 units, tidepool's 130 tokens);
    /// the error says what is wrong with it.
    pub fn from_safetensors(bytes: &[u8]) -> Result<MelodyFile, String> {
        let (model, info) = model_file::load(bytes)?;
        let tpq = quant_file::write(&model)?;
        let mut metadata: Vec<(&String, &String)> = info.metadata.iter().collect();
        metadata.sort();
        let metadata: Vec<String> = metadata
            .into_iter()
            .map(|(k, v)| format!("{}:{}", quote(k), quote(v)))
            .collect();
        let info = format!(
            "{{\"layers\":{},\"hidden\":{},\"embedding\":{},\"positionInput\":{},\"bytes\":{},\"metadata\":{{{}}}}}",
            info.layers,
            info.hidden,
            info.embedding_dim,
            info.position_width,
            bytes.len(),
            metadata.join(",")
        );
        Ok(MelodyFile { tpq, info })
    }

    /// The quantized model (`.tpq`) the engine plays.
    pub fn tpq(&self) -> Vec<u8> {
        self.tpq.clone()
    }

    /// `{layers, hidden, embedding, positionInput, bytes, metadata: {key: value}}` as JSON.
    pub fn info(&self) -> String {
        self.info.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &[u8] = include_bytes!("../../../web/models/melody-lstm.safetensors");

    #[test]
    fn the_shipped_model_converts_and_says_what_it_is() {
        let file = MelodyFile::from_safetensors(SHIPPED).unwrap();
        assert_eq!(
            file.tpq(),
            quant_file::write(&model_file::load(SHIPPED).unwrap().0).unwrap()
        );
        let info = model_file::json_header::parse_json(file.info().as_bytes()).unwrap();
        assert_eq!(info.get("layers").and_then(|v| v.as_u64()), Some(2));
        assert_eq!(info.get("hidden").and_then(|v| v.as_u64()), Some(256));
        assert_eq!(info.get("positionInput").and_then(|v| v.as_u64()), Some(0));
        let meta = info.get("metadata").unwrap();
        assert_eq!(
            meta.get("format_version").and_then(|v| v.as_str()),
            Some("1")
        );
    }

    #[test]
    fn a_bad_file_is_refused_with_the_loaders_reason() {
        let err = MelodyFile::from_safetensors(&SHIPPED[..SHIPPED.len() / 2])
            .map(|_| ())
            .unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }
}
