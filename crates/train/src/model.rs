//! The network in candle, named as PyTorch names it: `embedding.weight`, `lstm.weight_ih_l0`,
//! …, `linear.weight`, `linear.bias`. With a position input, the first LSTM layer reads the
//! embedding followed by a one-hot of the 16th within the bar (see `tidepool_melody::lstm`).

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{embedding, linear, Embedding, Linear, VarBuilder, VarMap};
use tidepool_melody::dataset::Line;
use tidepool_melody::VOCAB;
use tidepool_reservoir::SeededRng;

/// One LSTM layer with PyTorch's parameter names. Unlike candle's `rnn::LSTM` it projects the
/// whole input sequence in one matrix product before the time loop, leaving only h·W_hhᵀ per
/// step: the same function, a few times fewer small products.
pub struct LstmLayer {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor,
    b_hh: Tensor,
    hidden: usize,
}

impl LstmLayer {
    fn new(input: usize, hidden: usize, k: usize, vb: &VarBuilder) -> candle_core::Result<Self> {
        let init = candle_nn::init::DEFAULT_KAIMING_UNIFORM;
        let zero = candle_nn::Init::Const(0.0);
        let w_ih = vb.get_with_hints((4 * hidden, input), &format!("weight_ih_l{k}"), init)?;
        let w_hh = vb.get_with_hints((4 * hidden, hidden), &format!("weight_hh_l{k}"), init)?;
        let b_ih = vb.get_with_hints(4 * hidden, &format!("bias_ih_l{k}"), zero)?;
        let b_hh = vb.get_with_hints(4 * hidden, &format!("bias_hh_l{k}"), zero)?;
        Ok(Self {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
            hidden,
        })
    }

    /// h for every step, (batch, time, H), from the zero state; `x` is (batch, time, input).
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let projected = x
            .broadcast_matmul(&self.w_ih.t()?)?
            .broadcast_add(&(&self.b_ih + &self.b_hh)?)?;
        let mut h = Tensor::zeros((b, self.hidden), x.dtype(), x.device())?;
        let mut c = h.clone();
        let mut out = Vec::with_capacity(t);
        let w_hh_t = self.w_hh.t()?;
        for step in 0..t {
            let gates = (projected.narrow(1, step, 1)?.squeeze(1)? + h.matmul(&w_hh_t)?)?;
            let chunks = gates.chunk(4, 1)?;
            let i = candle_nn::ops::sigmoid(&chunks[0])?;
            let f = candle_nn::ops::sigmoid(&chunks[1])?;
            let g = chunks[2].tanh()?;
            let o = candle_nn::ops::sigmoid(&chunks[3])?;
            c = ((f * &c)? + (i * g)?)?;
            h = (o * c.tanh()?)?;
            out.push(h.clone());
        }
        Tensor::stack(&out, 1)
    }
}

pub struct MelodyNet {
    /// Width of the position one-hot (0: none).
    position: usize,
    embedding: Embedding,
    layers: [LstmLayer; 2],
    linear: Linear,
}

impl MelodyNet {
    pub fn new(
        embed: usize,
        hidden: usize,
        position: usize,
        vb: VarBuilder,
    ) -> candle_core::Result<Self> {
        let lstm = vb.pp("lstm");
        Ok(Self {
            position,
            embedding: embedding(VOCAB, embed, vb.pp("embedding"))?,
            layers: [
                LstmLayer::new(embed + position, hidden, 0, &lstm)?,
                LstmLayer::new(hidden, hidden, 1, &lstm)?,
            ],
            linear: linear(hidden, VOCAB, vb.pp("linear"))?,
        })
    }

    /// Logits (batch, time, 130) for token ids (batch, time) at 16ths `positions` within the bar
    /// (batch, time; u32). With `dropout`, its rate and the generator its masks come from
    /// (inverted dropout after the embedding and each LSTM; never on the position one-hot).
    pub fn forward(
        &self,
        xs: &Tensor,
        positions: &Tensor,
        mut dropout: Option<(f32, &mut SeededRng)>,
    ) -> candle_core::Result<Tensor> {
        let mut h = self.embedding.forward(xs)?;
        h = dropout_layer(h, &mut dropout)?;
        if self.position > 0 {
            let (b, t) = positions.dims2()?;
            let idx: Vec<u32> = positions.flatten_all()?.to_vec1::<u32>()?;
            let mut hot = vec![0f32; b * t * self.position];
            for (i, p) in idx.iter().enumerate() {
                hot[i * self.position + *p as usize % self.position] = 1.0;
            }
            let hot = Tensor::from_vec(hot, (b, t, self.position), xs.device())?;
            h = Tensor::cat(&[&h, &hot], 2)?;
        }
        for layer in &self.layers {
            h = dropout_layer(layer.forward(&h)?, &mut dropout)?;
        }
        self.linear.forward(&h)
    }

    /// Mean NLL per token of whole lines, each from the zero state, teacher-forced.
    pub fn nll(&self, lines: &[Line], device: &Device) -> candle_core::Result<f64> {
        let (mut sum, mut count) = (0.0, 0usize);
        for line in lines {
            let tokens = &line.tokens;
            let t = tokens.len() - 1;
            let xs = Tensor::from_vec(
                tokens[..t].iter().map(|&v| v as u32).collect::<Vec<_>>(),
                (1, t),
                device,
            )?;
            let ps = Tensor::from_vec(
                (0..t).map(|i| line.position(i) as u32).collect::<Vec<_>>(),
                (1, t),
                device,
            )?;
            let ys = Tensor::from_vec(
                tokens[1..].iter().map(|&v| v as u32).collect::<Vec<_>>(),
                t,
                device,
            )?;
            let logits = self.forward(&xs, &ps, None)?.squeeze(0)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &ys)?.to_scalar::<f32>()? as f64;
            sum += loss * t as f64;
            count += t;
        }
        Ok(sum / count.max(1) as f64)
    }
}

fn dropout_layer(
    h: Tensor,
    dropout: &mut Option<(f32, &mut SeededRng)>,
) -> candle_core::Result<Tensor> {
    let Some((rate, rng)) = dropout else {
        return Ok(h);
    };
    if *rate <= 0.0 {
        return Ok(h);
    }
    let keep = 1.0 - *rate;
    let mask: Vec<f32> = (0..h.elem_count())
        .map(|_| {
            if rng.unit_f64() < keep as f64 {
                1.0 / keep
            } else {
                0.0
            }
        })
        .collect();
    let mask = Tensor::from_vec(mask, h.shape(), h.device())?;
    h * mask
}

/// Replaces candle's (unseedable) initial weights: uniform ±1/sqrt(H) for the LSTM and the
/// linear layer as PyTorch does, N(0,1)-like uniform for the embedding, biases 0 but the forget
/// gate's 1 (a common help for learning long holds).
pub fn seeded_init(varmap: &VarMap, rng: &mut SeededRng) -> candle_core::Result<()> {
    let mut names: Vec<String> = varmap
        .data()
        .lock()
        .expect("varmap")
        .keys()
        .cloned()
        .collect();
    names.sort();
    for name in names {
        let var = varmap.data().lock().expect("varmap")[&name].clone();
        let dims = var.dims().to_vec();
        let n: usize = dims.iter().product();
        let values: Vec<f32> = if name.starts_with("lstm.bias_ih") {
            let h = n / 4;
            (0..n)
                .map(|i| if (h..2 * h).contains(&i) { 1.0 } else { 0.0 })
                .collect()
        } else if name.starts_with("lstm.bias") || name == "linear.bias" {
            vec![0.0; n]
        } else {
            let scale = if name == "embedding.weight" {
                1.0
            } else {
                1.0 / (*dims.last().unwrap_or(&1) as f64).sqrt()
            };
            (0..n)
                .map(|_| (rng.symmetric_f64() * scale) as f32)
                .collect()
        };
        var.set(&Tensor::from_vec(values, dims, &Device::Cpu)?.to_dtype(DType::F32)?)?;
    }
    Ok(())
}

/// Sets every weight from `start` (a loaded model of the same sizes). The first layer's
/// columns `start` lacks (the position input) are zero, and its summed bias goes to `bias_ih`
/// with `bias_hh` zero: the network computes exactly `start`'s function.
pub fn init_from(varmap: &VarMap, start: &tidepool_melody::lstm::Lstm) -> Result<(), String> {
    let data = varmap.data().lock().expect("varmap");
    let set = |name: &str, values: Vec<f32>| -> Result<(), String> {
        let var = data
            .get(name)
            .ok_or(format!("the network has no `{name}`"))?;
        let dims = var.dims().to_vec();
        if dims.iter().product::<usize>() != values.len() {
            return Err(format!(
                "`{name}` is {dims:?} here; the model file's has {} values",
                values.len()
            ));
        }
        Tensor::from_vec(values, dims, &Device::Cpu)
            .and_then(|t| var.set(&t))
            .map_err(|e| e.to_string())
    };
    set("embedding.weight", start.embedding.clone())?;
    for (k, layer) in start.layers.iter().enumerate() {
        let name = format!("lstm.weight_ih_l{k}");
        let cols = data
            .get(&name)
            .ok_or(format!("the network has no `{name}`"))?
            .dims()[1];
        let mut w_ih = vec![0.0f32; 4 * layer.hidden * cols];
        for (r, row) in layer.w_ih.chunks_exact(layer.input).enumerate() {
            w_ih[r * cols..r * cols + layer.input].copy_from_slice(row);
        }
        set(&name, w_ih)?;
        set(&format!("lstm.weight_hh_l{k}"), layer.w_hh.clone())?;
        set(&format!("lstm.bias_ih_l{k}"), layer.bias.clone())?;
        set(&format!("lstm.bias_hh_l{k}"), vec![0.0; layer.bias.len()])?;
    }
    set("linear.weight", start.linear_w.clone())?;
    set("linear.bias", start.linear_b.clone())
}

/// A copy of every weight, by name, sorted (the best epoch's, kept for export).
pub fn snapshot(varmap: &VarMap) -> Vec<(String, Tensor)> {
    let data = varmap.data().lock().expect("varmap");
    let mut out: Vec<(String, Tensor)> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().copy().expect("copy")))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
