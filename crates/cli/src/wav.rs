//! WAV output: 32-bit float stereo, so a render keeps every bit the engine produced.

use std::io::{self, Write};

/// Writes interleaved stereo IEEE-float WAV.
pub fn write_wav(
    mut w: impl Write,
    sample_rate: u32,
    left: &[f32],
    right: &[f32],
) -> io::Result<()> {
    let frames = left.len().min(right.len()) as u32;
    let data_bytes = frames * 2 * 4;
    w.write_all(b"RIFF")?;
    w.write_all(&(36 + data_bytes).to_le_bytes())?;
    w.write_all(b"WAVEfmt ")?;
    w.write_all(&16u32.to_le_bytes())?;
    w.write_all(&3u16.to_le_bytes())?; // IEEE float
    w.write_all(&2u16.to_le_bytes())?;
    w.write_all(&sample_rate.to_le_bytes())?;
    w.write_all(&(sample_rate * 8).to_le_bytes())?;
    w.write_all(&8u16.to_le_bytes())?;
    w.write_all(&32u16.to_le_bytes())?;
    w.write_all(b"data")?;
    w.write_all(&data_bytes.to_le_bytes())?;
    let mut buf = Vec::with_capacity(data_bytes as usize);
    for (l, r) in left.iter().zip(right) {
        buf.extend_from_slice(&l.to_le_bytes());
        buf.extend_from_slice(&r.to_le_bytes());
    }
    w.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_samples() {
        let mut out = Vec::new();
        write_wav(&mut out, 48000, &[0.5, -1.0], &[0.25, 1.0]).unwrap();
        assert_eq!(out.len(), 44 + 16);
        assert_eq!(&out[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(out[24..28].try_into().unwrap()), 48000);
        assert_eq!(f32::from_le_bytes(out[44..48].try_into().unwrap()), 0.5);
        assert_eq!(f32::from_le_bytes(out[56..60].try_into().unwrap()), 1.0);
    }
}
