//! A WAV file reader for the command line's onset detection: integer PCM of 8, 16, 24 and 32
//! bits and IEEE float of 32 and 64 bits (plain or WAVE_FORMAT_EXTENSIBLE), any number of
//! channels mixed to mono by their mean.
//!
//! The page decodes audio with the browser (any format it knows) and hands samples over; this
//! is only for files on disk. Other formats and broken files get a message saying which and why.

/// The mono samples of a file and what it was.
#[derive(Clone, Debug, PartialEq)]
pub struct Audio {
    /// Mean of the channels, -1..1 for integer PCM.
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    pub channels: u16,
    pub bits: u16,
    pub float: bool,
}

impl Audio {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

const PCM: u16 = 1;
const IEEE_FLOAT: u16 = 3;
const EXTENSIBLE: u16 = 0xFFFE;

/// What a file's first bytes say it is, for the message when it is not a WAV file.
pub fn sniff(bytes: &[u8]) -> &'static str {
    let head = |m: &[u8]| bytes.len() >= m.len() && &bytes[..m.len()] == m;
    if head(b"RIFF") && bytes.len() >= 12 && &bytes[8..12] == b"WAVE" {
        "WAV"
    } else if head(b"RF64") {
        "RF64 (64-bit WAV)"
    } else if head(b"fLaC") {
        "FLAC"
    } else if head(b"OggS") {
        "Ogg"
    } else if head(b"ID3") || (bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0) {
        "MP3"
    } else if head(b"FORM") {
        "AIFF"
    } else if head(b"MThd") {
        "MIDI"
    } else {
        "unknown"
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads a WAV file. A `data` chunk that claims more bytes than the file holds (a recorder
/// that stopped before fixing the header up) is read up to the last whole frame there is.
pub fn read_wav(bytes: &[u8]) -> Result<Audio, String> {
    let kind = sniff(bytes);
    if kind != "WAV" {
        return Err(match kind {
            "unknown" => "not a WAV file (no RIFF/WAVE header)".to_string(),
            k => format!(
                "a {k} file, not WAV: only WAV is read here (convert it, or drop it on the page)"
            ),
        });
    }
    let mut fmt: Option<(u16, u16, u32, u16, u16)> = None; // format, channels, rate, block, bits
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = le32(bytes, at + 4) as usize;
        let body = at + 8;
        let avail = bytes.len() - body;
        if id == b"fmt " {
            if len < 16 || len > avail {
                return Err(format!(
                    "the fmt chunk at byte {at} is {len} bytes, not a whole format description"
                ));
            }
            let mut format = le16(bytes, body);
            if format == EXTENSIBLE {
                if len < 40 {
                    return Err(format!(
                        "the extensible fmt chunk at byte {at} is {len} bytes, not 40"
                    ));
                }
                // The sub-format GUID starts with the plain format code.
                format = le16(bytes, body + 24);
            }
            fmt = Some((
                format,
                le16(bytes, body + 2),
                le32(bytes, body + 4),
                le16(bytes, body + 12),
                le16(bytes, body + 14),
            ));
        } else if id == b"data" {
            let Some((format, channels, rate, block, bits)) = fmt else {
                return Err(format!(
                    "the data chunk at byte {at} comes before any fmt chunk"
                ));
            };
            return decode(
                &bytes[body..body + len.min(avail)],
                format,
                channels,
                rate,
                block,
                bits,
            );
        }
        // Chunks are padded to an even length.
        at = body.saturating_add(len).saturating_add(len & 1);
    }
    Err(match fmt {
        None => "the WAV file has no fmt chunk".to_string(),
        Some(_) => "the WAV file has no data chunk".to_string(),
    })
}

fn decode(
    data: &[u8],
    format: u16,
    channels: u16,
    rate: u32,
    block: u16,
    bits: u16,
) -> Result<Audio, String> {
    if channels == 0 {
        return Err("the WAV file has 0 channels".into());
    }
    if rate == 0 {
        return Err("the WAV file's sample rate is 0".into());
    }
    let width = match (format, bits) {
        (PCM, 8 | 16 | 24 | 32) | (IEEE_FLOAT, 32 | 64) => bits as usize / 8,
        (PCM, b) => {
            return Err(format!(
                "{b}-bit integer WAV is not supported (8, 16, 24 or 32 bits are)"
            ))
        }
        (IEEE_FLOAT, b) => {
            return Err(format!(
                "{b}-bit float WAV is not supported (32 or 64 bits are)"
            ))
        }
        (f, _) => {
            return Err(format!(
                "WAV format code {f} (compressed) is not supported: only integer PCM and float are"
            ))
        }
    };
    let frame = width * channels as usize;
    if block as usize != frame {
        return Err(format!(
            "the WAV block size is {block} bytes, but {channels} channels of {bits} bits need {frame}"
        ));
    }
    let sample = |b: &[u8]| -> f32 {
        match (format, width) {
            (PCM, 1) => (b[0] as f32 - 128.0) / 128.0,
            (PCM, 2) => i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0,
            (PCM, 3) => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
            (PCM, _) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
            (_, 4) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            _ => f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32,
        }
    };
    let scale = 1.0 / channels as f32;
    let samples = data
        .chunks_exact(frame)
        .map(|f| f.chunks_exact(width).map(sample).sum::<f32>() * scale)
        .collect();
    Ok(Audio {
        samples,
        sample_rate: rate,
        channels,
        bits,
        float: format == IEEE_FLOAT,
    })
}
