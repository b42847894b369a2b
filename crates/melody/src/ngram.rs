//! Interpolated Kneser-Ney n-gram models (order 1–4) over tokens.
//!
//! P(w | h) = max(c(h w) − D, 0) / c(h) + D · N₁₊(h •) / c(h) · P(w | h′), where h′ drops the
//! oldest token; below the top order, counts are continuation counts N₁₊(• h w) (in how many
//! distinct contexts a sequence follows), the Kneser-Ney idea that keeps frequent-but-formulaic
//! tokens from dominating the back-off. The bottom is interpolated with the uniform
//! distribution, so every token keeps a non-zero probability. Discounts D = n₁ / (n₁ + 2 n₂) per
//! order (Ney et al.); the order itself is chosen on validation data.
//!
//! A trained model is frozen into flat sorted arrays, so a lookup is one binary search per
//! order, with no hashing and no allocation (the engine asks on the audio thread). The same
//! arrays travel as bytes ([`NGram::to_bytes`], [`NGram::from_bytes`]): the page counts the
//! model and the worklet only copies and checks them.
//!
//! # Byte format (version 1, little-endian)
//!
//! ```text
//! b"TPNG"                    magic
//! u32                        version = 1
//! u32                        order, 1–4
//! order × u64                discount of each level k = 0..order, f64 bits, in [0.05, 0.95]
//! then per level k = 0..order (contexts of k tokens):
//!   u32                      n, the number of contexts
//!   u32                      m, the number of (context, follower) pairs
//!   n × u32                  keys: the context's tokens, oldest first, packed base 256
//!                            (t₀·2¹⁶ + t₁·2⁸ + t₂ for k = 3), strictly increasing; each token
//!                            ≤ BEGIN, and BEGIN only before the first real token
//!   n × u32                  totals: c(h), the sum of the context's counts
//!   n × u8                   distinct: N₁₊(h •), the context's number of followers, 1–130
//!   m × u8                   followers' tokens, context after context, each context's
//!                            strictly increasing and < VOCAB
//!   m × u32                  followers' counts, each ≥ 1
//! ```
//!
//! Nothing follows the last level. A context's followers start where the previous context's
//! end (the sum of the earlier `distinct`).

use crate::tokens::{Token, BEGIN, VOCAB};
use std::collections::HashMap;

const MAGIC: &[u8; 4] = b"TPNG";
const FORMAT_VERSION: u32 = 1;
/// The range training clamps a discount to (and the loader accepts): positive, so that every
/// token keeps a non-zero probability, and below 1, so that every seen follower keeps a share.
const MIN_DISCOUNT: f64 = 0.05;
const MAX_DISCOUNT: f64 = 0.95;

/// Counts of what follows one context (while counting).
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

/// The contexts of one length and what follows them, frozen for lookup.
///
/// Invariants (kept by `train` and checked by `from_bytes`): `keys` strictly increasing;
/// `totals.len() == keys.len()`, `starts.len() == keys.len() + 1`, `starts[0] == 0`, `starts`
/// strictly increasing up to `tokens.len() == counts.len()`; each context's tokens strictly
/// increasing and < VOCAB, its counts ≥ 1 and summing to its total.
#[derive(Clone, Debug, Default, PartialEq)]
struct Level {
    /// Packed contexts (see [`pack`]), sorted.
    keys: Vec<u32>,
    /// c(h) of each context.
    totals: Vec<u32>,
    /// Context i's followers are `tokens[starts[i]..starts[i + 1]]` (and the same of `counts`).
    starts: Vec<u32>,
    tokens: Vec<Token>,
    counts: Vec<u32>,
}

impl Level {
    fn freeze(map: &HashMap<u32, Follow>) -> Level {
        let mut entries: Vec<(u32, &Follow)> = map.iter().map(|(&key, f)| (key, f)).collect();
        entries.sort_unstable_by_key(|&(key, _)| key);
        let pairs = entries.iter().map(|(_, f)| f.counts.len()).sum();
        let mut level = Level {
            keys: Vec::with_capacity(entries.len()),
            totals: Vec::with_capacity(entries.len()),
            starts: Vec::with_capacity(entries.len() + 1),
            tokens: Vec::with_capacity(pairs),
            counts: Vec::with_capacity(pairs),
        };
        level.starts.push(0);
        for (key, follow) in entries {
            level.keys.push(key);
            level.totals.push(follow.total);
            for &(w, c) in &follow.counts {
                level.tokens.push(w);
                level.counts.push(c);
            }
            level.starts.push(level.tokens.len() as u32);
        }
        level
    }

    /// The followers of the context packed as `key`: (total, tokens, counts).
    #[inline]
    fn get(&self, key: u32) -> Option<(u32, &[Token], &[u32])> {
        let i = self.keys.binary_search(&key).ok()?;
        let (a, b) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        Some((self.totals[i], &self.tokens[a..b], &self.counts[a..b]))
    }
}

/// A context of up to 3 tokens as one number, oldest token in the highest byte: distinct
/// contexts of one length get distinct keys, and keys sort like the token sequences.
#[inline]
fn pack(h: &[Token]) -> u32 {
    h.iter().fold(0, |key, &t| (key << 8) | t as u32)
}

/// An n-gram model of a fixed order.
#[derive(Clone, Debug, PartialEq)]
pub struct NGram {
    order: usize,
    /// `levels[k]` holds contexts of k tokens and what follows them (k = 0..order).
    levels: Vec<Level>,
    discounts: Vec<f64>,
}

impl NGram {
    /// Counts `lines` (each a token sequence, read with `order − 1` BEGIN tokens before it).
    pub fn train(lines: &[Vec<Token>], order: usize) -> Self {
        let order = order.clamp(1, 4);
        // Counted under packed keys (see `pack`): no allocation per window.
        let mut top: HashMap<u32, Follow> = HashMap::new();
        for line in lines {
            let padded: Vec<Token> = std::iter::repeat_n(BEGIN, order - 1)
                .chain(line.iter().copied())
                .collect();
            for window in padded.windows(order) {
                let (h, w) = window.split_at(order - 1);
                top.entry(pack(h)).or_default().add(w[0], 1);
            }
        }
        // Lower orders: N₁₊(• h w), one per distinct longer context ending in h.
        let mut counting = vec![HashMap::new(); order];
        for k in (0..order - 1).rev() {
            let mut level: HashMap<u32, Follow> = HashMap::new();
            let longer = if k + 1 == order - 1 {
                &top
            } else {
                &counting[k + 1]
            };
            // Dropping the oldest token of k + 1 keeps the low k bytes.
            let mask = (1u32 << (8 * k)) - 1;
            for (&h, follow) in longer.iter() {
                let entry = level.entry(h & mask).or_default();
                for &(w, _) in &follow.counts {
                    entry.add(w, 1);
                }
            }
            counting[k] = level;
        }
        counting[order - 1] = top;
        let levels: Vec<Level> = counting.iter().map(Level::freeze).collect();
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
    /// a shorter history is padded with BEGIN). Sums to 1 over the 130 tokens. Allocates
    /// nothing.
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
            let Some((total, tokens, counts)) = self.levels[k].get(pack(h)) else {
                continue;
            };
            let d = self.discounts[k];
            let total = total as f64;
            let back = d * tokens.len() as f64 / total;
            for p in out.iter_mut() {
                *p *= back;
            }
            for (&w, &c) in tokens.iter().zip(counts) {
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

    /// The model in the byte format of the module documentation.
    pub fn to_bytes(&self) -> Vec<u8> {
        let size = 12
            + 8 * self.order
            + self
                .levels
                .iter()
                .map(|l| 8 + 9 * l.keys.len() + 5 * l.tokens.len())
                .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.order as u32).to_le_bytes());
        for d in &self.discounts {
            out.extend_from_slice(&d.to_bits().to_le_bytes());
        }
        for level in &self.levels {
            out.extend_from_slice(&(level.keys.len() as u32).to_le_bytes());
            out.extend_from_slice(&(level.tokens.len() as u32).to_le_bytes());
            for v in level.keys.iter().chain(&level.totals) {
                out.extend_from_slice(&v.to_le_bytes());
            }
            // At most VOCAB followers per context, so a byte holds the number.
            out.extend(level.starts.windows(2).map(|s| (s[1] - s[0]) as u8));
            out.extend_from_slice(&level.tokens);
            for c in &level.counts {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
        debug_assert_eq!(out.len(), size);
        out
    }

    /// Reads a model written by [`NGram::to_bytes`], checking everything a lookup relies on
    /// (the error names the first thing wrong): any model it accepts gives distributions that
    /// sum to 1 with every token above 0. Never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<NGram, String> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4, "the magic")? != MAGIC {
            return Err("not an n-gram model: the magic is not TPNG".into());
        }
        let version = r.u32("the version")?;
        if version != FORMAT_VERSION {
            return Err(format!(
                "n-gram format version {version}, this build reads version {FORMAT_VERSION}"
            ));
        }
        let order = r.u32("the order")?;
        if !(1..=4).contains(&order) {
            return Err(format!("order {order} is not 1–4"));
        }
        let order = order as usize;
        let mut discounts = Vec::with_capacity(order);
        for k in 0..order {
            let d = f64::from_bits(r.u64("a discount")?);
            // `contains` is false for NaN.
            if !(MIN_DISCOUNT..=MAX_DISCOUNT).contains(&d) {
                return Err(format!(
                    "discount of level {k} is {d}, not within [{MIN_DISCOUNT}, {MAX_DISCOUNT}]"
                ));
            }
            discounts.push(d);
        }
        let levels = (0..order)
            .map(|k| read_level(&mut r, k).map_err(|e| format!("level {k}: {e}")))
            .collect::<Result<Vec<Level>, String>>()?;
        if r.pos != bytes.len() {
            return Err(format!(
                "{} bytes after the last level",
                bytes.len() - r.pos
            ));
        }
        Ok(NGram {
            order,
            levels,
            discounts,
        })
    }
}

/// Reads the byte format front to back; every read checks the length first.
struct Reader<'a> {
    bytes: &'a [u8],
    /// ≤ bytes.len().
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let left = self.bytes.len() - self.pos;
        if n > left {
            return Err(format!(
                "truncated: {what} needs {n} bytes at offset {}, {left} left",
                self.pos
            ));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    fn u32s(&mut self, n: usize, what: &str) -> Result<Vec<u32>, String> {
        let b = self.take(n * 4, what)?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

/// One level of contexts of `k` tokens, checked.
fn read_level(r: &mut Reader, k: usize) -> Result<Level, String> {
    let n = r.u32("the number of contexts")? as usize;
    let m = r.u32("the number of followers")? as usize;
    // Check the whole level's length before allocating anything a corrupt count would make
    // huge (in u64: 9 n + 5 m overflows a 32-bit usize).
    let need = 9 * n as u64 + 5 * m as u64;
    let left = (r.bytes.len() - r.pos) as u64;
    if need > left {
        return Err(format!(
            "truncated: {n} contexts and {m} followers need {need} bytes at offset {}, {left} left",
            r.pos
        ));
    }
    let keys = r.u32s(n, "the keys")?;
    let totals = r.u32s(n, "the totals")?;
    let distinct = r.take(n, "the numbers of followers")?;
    let tokens = r.take(m, "the followers' tokens")?.to_vec();
    let counts = r.u32s(m, "the followers' counts")?;

    let limit = 1u64 << (8 * k);
    let mut starts = Vec::with_capacity(n + 1);
    starts.push(0u32);
    let mut start = 0usize;
    for i in 0..n {
        let key = keys[i];
        if key as u64 >= limit {
            return Err(format!("context {i}: key {key:#x} is not {k} tokens"));
        }
        check_context(key, k).map_err(|e| format!("context {i} (key {key:#x}): {e}"))?;
        if i > 0 && keys[i - 1] >= key {
            return Err(format!(
                "context {i}: key {key:#x} does not follow {:#x} in order",
                keys[i - 1]
            ));
        }
        let count = distinct[i] as usize;
        if count == 0 || count > VOCAB {
            return Err(format!("context {i}: {count} followers is not 1–{VOCAB}"));
        }
        let end = start + count;
        if end > m {
            return Err(format!(
                "context {i}: its followers end at {end}, past the {m} followers of the level"
            ));
        }
        let (ws, cs) = (&tokens[start..end], &counts[start..end]);
        let mut sum = 0u64;
        for (j, (&w, &c)) in ws.iter().zip(cs).enumerate() {
            if w as usize >= VOCAB {
                return Err(format!(
                    "context {i}: follower {j} is token {w}, not < {VOCAB}"
                ));
            }
            if j > 0 && ws[j - 1] >= w {
                return Err(format!(
                    "context {i}: follower {j} (token {w}) does not follow token {} in order",
                    ws[j - 1]
                ));
            }
            if c == 0 {
                return Err(format!("context {i}: follower {j} (token {w}) has count 0"));
            }
            sum += c as u64;
        }
        if sum != totals[i] as u64 {
            return Err(format!(
                "context {i}: total {} is not the sum of its counts ({sum})",
                totals[i]
            ));
        }
        start = end;
        starts.push(end as u32);
    }
    if start != m {
        return Err(format!(
            "the contexts have {start} followers, the level says {m}"
        ));
    }
    Ok(Level {
        keys,
        totals,
        starts,
        tokens,
        counts,
    })
}

/// A packed context of `k` tokens holds tokens ≤ BEGIN, and BEGIN only as leading padding.
fn check_context(key: u32, k: usize) -> Result<(), String> {
    let mut seen_real = false;
    for j in (0..k).rev() {
        let t = (key >> (8 * j)) & 0xff;
        if t > BEGIN as u32 {
            return Err(format!("token {t} is not < {}", BEGIN as u32 + 1));
        }
        if t == BEGIN as u32 {
            if seen_real {
                return Err("BEGIN after a real token".into());
            }
        } else {
            seen_real = true;
        }
    }
    Ok(())
}

/// Ney's discount n₁ / (n₁ + 2 n₂) from the counts-of-counts of one level, in (0, 1).
fn discount(level: &Level) -> f64 {
    let (mut n1, mut n2) = (0u64, 0u64);
    for &c in &level.counts {
        match c {
            1 => n1 += 1,
            2 => n2 += 1,
            _ => {}
        }
    }
    if n1 == 0 {
        0.5
    } else {
        (n1 as f64 / (n1 as f64 + 2.0 * n2 as f64)).clamp(MIN_DISCOUNT, MAX_DISCOUNT)
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
