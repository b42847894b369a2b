//! WAV output: 32-bit float stereo, so a render keeps every bit the engine produced. One writer
//! for the CLI and the page's offline render, so their files can be compared byte for byte.

/// Interleaved stereo IEEE-float WAV of `left` and `right` (the shorter sets the length).
pub fn wav_bytes(sample_rate: u32, left: &[f32], right: &[f32]) -> Vec<u8> {
    let frames = left.len().min(right.len());
    let data_bytes = (frames * 8) as u32;
    let mut out = Vec::with_capacity(44 + frames * 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * 8).to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_bytes.to_le_bytes());
    for (l, r) in left.iter().zip(right) {
        out.extend_from_slice(&l.to_le_bytes());
        out.extend_from_slice(&r.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_samples() {
        let out = wav_bytes(48000, &[0.5, -1.0], &[0.25, 1.0]);
        assert_eq!(out.len(), 44 + 16);
        assert_eq!(&out[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(out[4..8].try_into().unwrap()), 36 + 16);
        assert_eq!(u32::from_le_bytes(out[24..28].try_into().unwrap()), 48000);
        assert_eq!(f32::from_le_bytes(out[44..48].try_into().unwrap()), 0.5);
        assert_eq!(f32::from_le_bytes(out[48..52].try_into().unwrap()), 0.25);
        assert_eq!(f32::from_le_bytes(out[56..60].try_into().unwrap()), 1.0);
    }
}
