//! Interpolated Kneser-Ney n-gram models (order 1–4) over tokens.
//!
//! P(w | h) = max(c(h w) − D, 0) / c(h) + D · N₁₊(h •) / c(h) · P(w | h′), where h′ drops the
//! oldest token; below the top order, counts are continuation counts N₁₊(• h w) (in how many
//! distinct contexts a sequence follows), the Kneser-Ney idea that keeps frequent-but-formulaic
//! tokens from dominating the back-off. The bottom is interpolated with the uniform
//! distribution, so every token keeps a non-zero probability. Discounts D = n₁ / (n₁ + 2 n₂) per
//! order (Ney et al.); the order itself is chosen on validation data.

use crate::tokens::{Token, BEGIN, VOCAB};
use std::collections::HashMap;

/// Counts of what follows one context.
#[derive(Clone, Debug, Default)]
struct Follow {
    total: u32,
    /// (token, count), sorted by token.
    counts: Vec<(Token, u32)>,
}

impl Follow {
    fn add(&mut self, w: Token, by: u32) {
        self.total += by;
        match self.counts.binary_search_by_key(&w, |&(t, _)| t) {
            Ok(i) => self.counts[i].1 += by,
            Err(i) => self.counts.insert(i, (w, by)),
        }
    }
}

/// An n-gram model of a fixed order.
#[derive(Clone, Debug)]
pub struct NGram {
    order: usize,
    /// `levels[k]` maps contexts of k tokens to what follows (k = 0..order).
    levels: Vec<HashMap<Vec<Token>, Follow>>,
    discounts: Vec<f64>,
}

impl NGram {
    /// Counts `lines` (each a token sequence, read with `order − 1` BEGIN tokens before it).
    pub fn train(lines: &[Vec<Token>], order: usize) -> Self {
        let order = order.clamp(1, 4);
        let mut top: HashMap<Vec<Token>, Follow> = HashMap::new();
        for line in lines {
            let padded: Vec<Token> = std::iter::repeat_n(BEGIN, order - 1)
                .chain(line.iter().copied())
                .collect();
            for window in padded.windows(order) {
                let (h, w) = window.split_at(order - 1);
                top.entry(h.to_vec()).or_default().add(w[0], 1);
            }
        }
        // Lower orders: N₁₊(• h w), one per distinct longer context ending in h.
        let mut levels = vec![HashMap::new(); order];
        for k in (0..order - 1).rev() {
            let mut level: HashMap<Vec<Token>, Follow> = HashMap::new();
            let longer = if k + 1 == order - 1 {
                &top
            } else {
                &levels[k + 1]
            };
            for (h, follow) in longer.iter() {
                let short = h[1..].to_vec();
                let entry = level.entry(short).or_default();
                for &(w, _) in &follow.counts {
                    entry.add(w, 1);
                }
            }
            levels[k] = level;
        }
        levels[order - 1] = top;
        let discounts = levels.iter().map(discount).collect();
        Self {
            order,
            levels,
            discounts,
        }
    }

    pub fn order(&self) -> usize {
        self.order
    }

    /// The next-token distribution after `history` (only its last `order − 1` tokens matter;
    /// a shorter history is padded with BEGIN). Sums to 1 over the 130 tokens.
    pub fn distribution(&self, history: &[Token], out: &mut [f64; VOCAB]) {
        let need = self.order - 1;
        // A fixed array, not a Vec: the engine asks for distributions on the audio thread.
        let mut padded = [BEGIN; 3];
        let recent = &history[history.len().saturating_sub(need)..];
        padded[need - recent.len()..need].copy_from_slice(recent);
        let context = &padded[..need];
        out.fill(1.0 / VOCAB as f64);
        for k in 0..self.order {
            let h = &context[need - k..];
            let Some(follow) = self.levels[k].get(h) else {
                continue;
            };
            let d = self.discounts[k];
            let total = follow.total as f64;
            let back = d * follow.counts.len() as f64 / total;
            for p in out.iter_mut() {
                *p *= back;
            }
            for &(w, c) in &follow.counts {
                out[w as usize] += (c as f64 - d).max(0.0) / total;
            }
        }
    }

    /// Mean negative log-likelihood per token (nats) of `lines`.
    pub fn nll(&self, lines: &[Vec<Token>]) -> f64 {
        let mut dist = [0.0; VOCAB];
        let (mut sum, mut count) = (0.0, 0usize);
        for line in lines {
            for (i, &w) in line.iter().enumerate() {
                self.distribution(&line[..i], &mut dist);
                sum -= libm::log(dist[w as usize]);
                count += 1;
            }
        }
        sum / count.max(1) as f64
    }

    /// The order among 1..=4 whose model has the lowest NLL on `validation`, with every NLL.
    pub fn choose_order(
        train: &[Vec<Token>],
        validation: &[Vec<Token>],
    ) -> (NGram, Vec<(usize, f64)>) {
        let mut scores = Vec::new();
        let mut best: Option<(f64, NGram)> = None;
        for order in 1..=4 {
            let model = NGram::train(train, order);
            let nll = model.nll(validation);
            scores.push((order, nll));
            if best.as_ref().is_none_or(|(b, _)| nll < *b) {
                best = Some((nll, model));
            }
        }
        (best.expect("four orders tried").1, scores)
    }
}

/// Ney's discount n₁ / (n₁ + 2 n₂) from the counts-of-counts of one level, in (0, 1).
fn discount(level: &HashMap<Vec<Token>, Follow>) -> f64 {
    let (mut n1, mut n2) = (0u64, 0u64);
    for follow in level.values() {
        for &(_, c) in &follow.counts {
            match c {
                1 => n1 += 1,
                2 => n2 += 1,
                _ => {}
            }
        }
    }
    if n1 == 0 {
        0.5
    } else {
        (n1 as f64 / (n1 as f64 + 2.0 * n2 as f64)).clamp(0.05, 0.95)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{HOLD, NOTE_OFF};

    fn corpus() -> Vec<Vec<Token>> {
        let a = vec![
            60, HOLD, 62, HOLD, 64, HOLD, HOLD, HOLD, NOTE_OFF, 67, HOLD, 65, 64, HOLD, 62, 60,
        ];
        let b = vec![
            64, HOLD, 62, HOLD, 60, HOLD, 62, 64, 64, HOLD, 64, HOLD, NOTE_OFF, 62, 62, 60,
        ];
        let c = vec![
            67, 65, 64, 62, 60, HOLD, HOLD, HOLD, 72, HOLD, 71, 69, 67, HOLD, NOTE_OFF, 60,
        ];
        vec![a.clone(), b, c, a]
    }

    #[test]
    fn distributions_sum_to_one_and_never_vanish() {
        let lines = corpus();
        for order in 1..=4 {
            let m = NGram::train(&lines, order);
            let mut d = [0.0; VOCAB];
            for history in [&[][..], &[60], &[60, HOLD, 62], &[5, 6, 7, 8, 9]] {
                m.distribution(history, &mut d);
                let sum: f64 = d.iter().sum();
                assert!(
                    (sum - 1.0).abs() < 1e-9,
                    "order {order}, {history:?}: {sum}"
                );
                assert!(d.iter().all(|p| *p > 0.0));
            }
        }
    }

    #[test]
    fn higher_orders_fit_the_training_data_better_and_predict_what_followed() {
        let lines = corpus();
        let nlls: Vec<f64> = (1..=4)
            .map(|o| NGram::train(&lines, o).nll(&lines))
            .collect();
        assert!(nlls.windows(2).all(|w| w[1] < w[0]), "{nlls:?}");
        // In a corpus where 60 62 is always followed by 64 (and 62 alone is not), only an order
        // of 3 or more can know it.
        let scale = vec![
            vec![60, 62, 64, 65, 67],
            vec![65, 62, 60, 60, 62, 64],
            vec![67, 62, 67, 60, 62, 64],
        ];
        let mut d = [0.0; VOCAB];
        NGram::train(&scale, 3).distribution(&[60, 62], &mut d);
        let best = (0..VOCAB).max_by(|&a, &b| d[a].total_cmp(&d[b])).unwrap();
        assert_eq!(best, 64);
        let trigram = d[64];
        NGram::train(&scale, 2).distribution(&[60, 62], &mut d);
        assert!(trigram > d[64], "{trigram} vs bigram {}", d[64]);
    }

    #[test]
    fn choose_order_returns_the_best_on_validation() {
        let lines = corpus();
        let (model, scores) = NGram::choose_order(&lines[..3], &lines[3..]);
        let best = scores.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        assert_eq!(model.order(), best.0);
        assert_eq!(scores.len(), 4);
    }
}
