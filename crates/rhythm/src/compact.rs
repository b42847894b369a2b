//! A decoder as a couple of kilobytes for the patch link: int8 weights with one f32 scale per
//! row (symmetric quantisation; one scale per tensor, version 1, let a row of small weights in a
//! trained layer lose most of its precision: probabilities up to 0.76 off at the pad's corners
//! for the built-in model 3), and base64url text of those bytes (`rh1.model=~<text>`).
//!
//! Layout, version 2 (all little-endian):
//! - byte 0: [`FORMAT`] (magic and version in one byte),
//! - byte 1: the architecture ([`Arch::index`]),
//! - byte 2: flags: bit 0 = velocity head; other bits 0,
//! - then per decoder layer (latent side first), then the velocity head if any: the biases'
//!   scale (f32), then per output row its weights' scale (f32) and its `inputs` weights (i8,
//!   as `nn.Linear` stores a row), then the `outputs` biases (i8). A value is `q · scale`.
//!
//! Model 1 with a velocity head is 1 935 bytes, 2 580 characters of text. Decoded
//! probabilities stay within 0.03 of the f32 decoder's for random (Glorot) decoders
//! (tests/decoder.rs); `tidepool rhythm compact` prints the worst difference over the ±10 pad
//! for a trained model.

use crate::arch::Arch;
use crate::decoder::Decoder;
use crate::dense::Dense;
use crate::pattern::STEPS;

/// Magic and version: the first byte of every compact decoder.
pub const FORMAT: u8 = 0xA2;

const HEAD_FLAG: u8 = 1;

/// One tensor as int8 with a scale: `max |v| / 127`, 0 for an all-zero tensor.
fn put_quantised(values: &[f32], scale: f32, out: &mut Vec<u8>) {
    for &v in values {
        let q = if scale > 0.0 {
            (v / scale).round()
        } else {
            0.0
        };
        out.push(q.clamp(-127.0, 127.0) as i8 as u8);
    }
}

/// A NaN weight (a diverged training run) makes the scale NaN, so the reader refuses the
/// bytes rather than play a decoder whose NaNs became zeros.
fn scale_of(values: &[f32]) -> f32 {
    values.iter().fold(0.0f32, |m, v| {
        if m.is_nan() || v.abs() <= m {
            m
        } else {
            v.abs()
        }
    }) / 127.0
}

/// Reads the compact bytes front to back, naming what ran out.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], String> {
        let end = self.at + n;
        let got = self.bytes.get(self.at..end).ok_or_else(|| {
            format!(
                "the compact decoder is truncated: {what} needs bytes {}..{end} of {}",
                self.at,
                self.bytes.len()
            )
        })?;
        self.at = end;
        Ok(got)
    }

    fn scale(&mut self, what: &str) -> Result<f32, String> {
        let b = self.take(4, what)?;
        let s = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        if !(s.is_finite() && s >= 0.0) {
            return Err(format!(
                "the compact decoder's {what} is not a finite scale"
            ));
        }
        Ok(s)
    }

    fn layer(&mut self, inputs: usize, outputs: usize, what: &str) -> Result<Dense, String> {
        let bs = self.scale(what)?;
        let mut weight = Vec::with_capacity(inputs * outputs);
        for _ in 0..outputs {
            let ws = self.scale(what)?;
            let row = self.take(inputs, what)?;
            weight.extend(row.iter().map(|&q| f32::from(q as i8) * ws));
        }
        let bias = self
            .take(outputs, what)?
            .iter()
            .map(|&q| f32::from(q as i8) * bs)
            .collect();
        Ok(Dense {
            inputs,
            outputs,
            weight,
            bias,
        })
    }
}

impl Decoder {
    /// The compact bytes (see the module documentation). Quantisation loses precision: a
    /// decoder read back gives probabilities close to, not equal to, this one's.
    pub fn to_compact(&self) -> Vec<u8> {
        let mut out = vec![
            FORMAT,
            self.arch().index(),
            if self.has_velocity_head() {
                HEAD_FLAG
            } else {
                0
            },
        ];
        for layer in self.layers().iter().chain(self.velocity_head()) {
            let bs = scale_of(&layer.bias);
            out.extend_from_slice(&bs.to_le_bytes());
            for row in layer.weight.chunks(layer.inputs) {
                let ws = scale_of(row);
                out.extend_from_slice(&ws.to_le_bytes());
                put_quantised(row, ws, &mut out);
            }
            put_quantised(&layer.bias, bs, &mut out);
        }
        out
    }

    /// Reads [`to_compact`](Decoder::to_compact)'s bytes; anything else (another version, an
    /// unknown architecture, unknown flags, too few or too many bytes) is an error saying which.
    pub fn from_compact(bytes: &[u8]) -> Result<Decoder, String> {
        let mut r = Reader { bytes, at: 0 };
        let head = r.take(3, "the header")?;
        let (format, arch, flags) = (head[0], head[1], head[2]);
        if format != FORMAT {
            return Err(format!(
                "not a compact rhythm decoder of version 2 (first byte 0x{format:02x}, not 0x{FORMAT:02x})"
            ));
        }
        let arch = Arch::from_index(arch)
            .ok_or_else(|| format!("the compact decoder names architecture {arch}, unknown"))?;
        if flags & !HEAD_FLAG != 0 {
            return Err(format!(
                "the compact decoder has unknown flags 0x{flags:02x}"
            ));
        }
        let sizes = arch.decoder_sizes();
        let layers = sizes
            .windows(2)
            .map(|io| r.layer(io[0], io[1], "a decoder layer"))
            .collect::<Result<Vec<_>, _>>()?;
        let velocity = if flags & HEAD_FLAG != 0 {
            Some(r.layer(arch.last_hidden(), STEPS, "the velocity head")?)
        } else {
            None
        };
        if r.at != bytes.len() {
            return Err(format!(
                "the compact decoder has {} bytes after its end (byte {})",
                bytes.len() - r.at,
                r.at
            ));
        }
        Decoder::new(arch, layers, velocity)
    }

    /// The compact bytes as base64url without padding (the link's `~<text>`).
    pub fn to_text(&self) -> String {
        base64url_encode(&self.to_compact())
    }

    /// Reads [`to_text`](Decoder::to_text)'s string.
    pub fn from_text(text: &str) -> Result<Decoder, String> {
        Decoder::from_compact(&base64url_decode(text)?)
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url (RFC 4648 §5) without `=` padding.
pub fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = chunk
            .iter()
            .enumerate()
            .fold(0u32, |v, (i, &b)| v | u32::from(b) << (16 - 8 * i));
        for k in 0..=n {
            out.push(ALPHABET[(v >> (18 - 6 * k) & 63) as usize] as char);
        }
    }
    out
}

/// Reads [`base64url_encode`]'s text; refuses other characters, `=`, an impossible length and
/// non-zero leftover bits, naming the position.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>, String> {
    let digits = text.as_bytes();
    if digits.len() % 4 == 1 {
        return Err(format!(
            "base64url text of {} characters is truncated (a length of 4n+1 is impossible)",
            digits.len()
        ));
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for (c, chunk) in digits.chunks(4).enumerate() {
        let mut v = 0u32;
        for (i, &d) in chunk.iter().enumerate() {
            let six = ALPHABET.iter().position(|&a| a == d).ok_or_else(|| {
                format!(
                    "`{}` at character {} is not base64url (A-Z a-z 0-9 - _)",
                    d.escape_ascii(),
                    c * 4 + i
                )
            })?;
            v |= (six as u32) << (18 - 6 * i);
        }
        let n = chunk.len() - 1;
        if v << (8 * n) & 0xff_ffff != 0 {
            return Err(format!(
                "the base64url text's last character `{}` has bits beyond the data",
                chunk[n].escape_ascii()
            ));
        }
        for k in 0..n {
            out.push((v >> (16 - 8 * k)) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_anywhere_makes_the_scale_nan() {
        assert_eq!(scale_of(&[0.5, -1.27, 0.2]), 0.01);
        for at in 0..3 {
            let mut v = [0.5, -1.27, 0.2];
            v[at] = f32::NAN;
            assert!(scale_of(&v).is_nan(), "NaN at {at}");
        }
    }

    #[test]
    fn base64url_round_trips_every_length_and_refuses_bad_text() {
        let bytes: Vec<u8> = (0..=255u8).rev().chain(0..=255).collect();
        for n in 0..40 {
            let text = base64url_encode(&bytes[..n * 13 % 512]);
            assert!(!text.contains(['=', '+', '/']));
            assert_eq!(base64url_decode(&text).unwrap(), &bytes[..n * 13 % 512]);
        }
        // RFC 4648's examples, unpadded.
        assert_eq!(base64url_encode(b"foob"), "Zm9vYg");
        assert_eq!(base64url_encode(b"fooba"), "Zm9vYmE");
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert!(base64url_decode("Zm9vY").unwrap_err().contains("4n+1"));
        assert!(base64url_decode("Zm9v+g")
            .unwrap_err()
            .contains("`+` at character 4"));
        assert!(base64url_decode("Zm9vYh")
            .unwrap_err()
            .contains("bits beyond"));
        assert!(base64url_decode("Zm9=").is_err());
    }
}
