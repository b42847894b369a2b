// The run behind quant_lstm.rs's golden logits, shared by crates/melody/tests/quant.rs (which
// writes and checks the file natively) and crates/wasm/tests/quant_lstm.rs (the browser).
// Included with `include!`, so it names everything by full path.

/// Feeds `tokens` from the rest state. Returns the f32 bit patterns of the logits after each step
/// in `checkpoints` (VOCAB per checkpoint, in order) and an FNV-1a hash over the bits of every
/// step's logits.
fn quant_golden_run(
    model: &mut tidepool_melody::quant::QuantLstm,
    tokens: &[u8],
    checkpoints: &[usize],
) -> (Vec<u32>, u64) {
    model.reset();
    let mut bits = Vec::new();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for (i, &t) in tokens.iter().enumerate() {
        let logits = model.step(t, (i % 16) as u8);
        for v in logits {
            for b in v.to_bits().to_le_bytes() {
                hash = (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3);
            }
        }
        if checkpoints.contains(&i) {
            bits.extend(logits.iter().map(|v| v.to_bits()));
        }
    }
    (bits, hash)
}
