//! The Markov chain's learned table in patch text: `mk.table=<base64url>` of
//! `tidepool_melody::markov::Markov::to_bytes` (only the non-zero cells, counts in 1/16 notes),
//! so a shared link plays what the musician taught it. Written only when the chain learned
//! something, so the default patch's text is what it was before the chain existed.

use tidepool_melody::markov::Markov;
use tidepool_rhythm::compact::{base64url_decode, base64url_encode};

/// The patch-text key of the learned table.
pub const MARKOV_TABLE_KEY: &str = "mk.table";

/// The table's text, or None when nothing was learned.
pub fn table_text(markov: &Markov) -> Option<String> {
    (!markov.is_empty()).then(|| base64url_encode(&markov.to_bytes()))
}

/// Checks a table's text as [`load_text`] reads it; the error says what is wrong.
pub fn check_text(text: &str) -> Result<(), String> {
    Markov::check(&base64url_decode(text)?)
}

/// The bytes of a table's text, checked (for loading into a chain).
pub fn table_bytes(text: &str) -> Result<Vec<u8>, String> {
    let bytes = base64url_decode(text)?;
    Markov::check(&bytes)?;
    Ok(bytes)
}
