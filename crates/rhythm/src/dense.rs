//! A fully connected layer stored as PyTorch's `nn.Linear` stores it (`weight[out][in]`
//! row-major, `bias[out]`, f32), and its one-sample forward pass. No activation: the callers
//! know which layer is ReLU, linear or sigmoid.

use crate::arch::MAX_WIDTH;

/// One `nn.Linear`: `y = W x + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    /// `outputs` rows of `inputs` weights.
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

impl Dense {
    /// A layer of zeros.
    pub fn zeros(inputs: usize, outputs: usize) -> Dense {
        Dense {
            inputs,
            outputs,
            weight: vec![0.0; inputs * outputs],
            bias: vec![0.0; outputs],
        }
    }

    /// Checks that the buffers fit the widths and every value is finite (a layer read from a
    /// file or a link). `what` names the layer in the message.
    pub fn validate(&self, what: &str) -> Result<(), String> {
        if self.inputs == 0
            || self.outputs == 0
            || self.inputs > MAX_WIDTH
            || self.outputs > MAX_WIDTH
        {
            return Err(format!(
                "{what}: {} inputs and {} outputs; each must be 1..={MAX_WIDTH}",
                self.inputs, self.outputs
            ));
        }
        if self.weight.len() != self.inputs * self.outputs || self.bias.len() != self.outputs {
            return Err(format!(
                "{what}: {} weights and {} biases for {} inputs and {} outputs",
                self.weight.len(),
                self.bias.len(),
                self.inputs,
                self.outputs
            ));
        }
        if self.weight.iter().chain(&self.bias).any(|v| !v.is_finite()) {
            return Err(format!("{what}: a weight or bias is not a finite number"));
        }
        Ok(())
    }

    /// `y[..outputs] = W x[..inputs] + b`. Allocates nothing.
    pub fn forward(&self, x: &[f32], y: &mut [f32]) {
        let x = &x[..self.inputs];
        for ((row, b), y) in self
            .weight
            .chunks_exact(self.inputs)
            .zip(&self.bias)
            .zip(&mut y[..self.outputs])
        {
            *y = b + dot(row, x);
        }
    }
}

/// `Σ a[i]·b[i]` in a fixed order (eight running sums, then the tail, then the sums pairwise):
/// written so it vectorises and still gives the same bits on every target.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let (tail_a, tail_b) = (chunks_a.remainder(), chunks_b.remainder());
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            acc[k] += ca[k] * cb[k];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in tail_a.iter().zip(tail_b) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The logistic function, on `libm` so it gives the same bits natively and in wasm.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-z))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_is_w_x_plus_b() {
        let layer = Dense {
            inputs: 3,
            outputs: 2,
            weight: vec![1.0, 2.0, 3.0, -1.0, 0.5, 0.0],
            bias: vec![0.25, -2.0],
        };
        let mut y = [0.0; 2];
        layer.forward(&[1.0, -1.0, 2.0], &mut y);
        assert_eq!(y, [0.25 + 1.0 - 2.0 + 6.0, -2.0 - 1.0 - 0.5]);
        assert!(layer.validate("l").is_ok());
        let mut bad = layer.clone();
        bad.bias.push(1.0);
        assert!(bad.validate("layer 3").unwrap_err().starts_with("layer 3:"));
        let mut nan = layer;
        nan.weight[2] = f32::NAN;
        assert!(nan.validate("l").is_err());
    }

    #[test]
    fn dot_matches_a_plain_sum_of_products() {
        for n in [0, 1, 7, 8, 9, 20, 32, 33] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 1.3).cos()).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y)).sum();
            assert!((f64::from(dot(&a, &b)) - plain).abs() < 1e-5, "n {n}");
        }
    }
}
