//! The token vocabulary: one token per 16th note, 0–127 a note onset at that MIDI pitch, 128 a
//! note-off (rest), 129 hold (the sounding note or rest continues).

/// A token, 0..130.
pub type Token = u8;
/// Rest: the sounding note stops.
pub const NOTE_OFF: Token = 128;
/// The previous event continues for another 16th.
pub const HOLD: Token = 129;
/// Tokens a model predicts over.
pub const VOCAB: usize = 130;
/// Marks "before the start" in n-gram contexts; never predicted.
pub const BEGIN: Token = 130;

/// Parses whitespace-separated token numbers; names the first bad one.
pub fn parse(text: &str) -> Result<Vec<Token>, String> {
    text.split_whitespace()
        .enumerate()
        .map(|(i, t)| match t.parse::<u16>() {
            Ok(v) if (v as usize) < VOCAB => Ok(v as Token),
            _ => Err(format!(
                "token {} (`{t}`) is not a number from 0 to {}",
                i + 1,
                VOCAB - 1
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(parse("60 129 129 128"), Ok(vec![60, HOLD, HOLD, NOTE_OFF]));
        assert!(parse("60 130").unwrap_err().contains("token 2"));
        assert!(parse("x").is_err());
    }
}
