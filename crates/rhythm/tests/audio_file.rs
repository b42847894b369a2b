//! The WAV reader on files written in the test: every supported sample format, channel mixing,
//! odd chunks, and clear refusals.

use tidepool_rhythm::audio_file::{read_wav, sniff};

/// A WAV file: `format` 1 (PCM) or 3 (float), `frames` of interleaved samples already encoded.
fn wav(format: u16, channels: u16, rate: u32, bits: u16, data: &[u8], extensible: bool) -> Vec<u8> {
    let block = channels * bits / 8;
    let mut fmt = Vec::new();
    fmt.extend((if extensible { 0xFFFEu16 } else { format }).to_le_bytes());
    fmt.extend(channels.to_le_bytes());
    fmt.extend(rate.to_le_bytes());
    fmt.extend((rate * block as u32).to_le_bytes());
    fmt.extend(block.to_le_bytes());
    fmt.extend(bits.to_le_bytes());
    if extensible {
        fmt.extend(22u16.to_le_bytes());
        fmt.extend(bits.to_le_bytes());
        fmt.extend(3u32.to_le_bytes()); // channel mask
        fmt.extend(format.to_le_bytes());
        fmt.extend([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
    }
    let mut body = b"WAVE".to_vec();
    body.extend(b"fmt ");
    body.extend((fmt.len() as u32).to_le_bytes());
    body.extend(&fmt);
    // An odd-length chunk before the data: its pad byte must be skipped.
    body.extend(b"LIST");
    body.extend(3u32.to_le_bytes());
    body.extend([1, 2, 3, 0]);
    body.extend(b"data");
    body.extend((data.len() as u32).to_le_bytes());
    body.extend(data);
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// A test signal: a few values every format can hold exactly or nearly.
const VALUES: [f64; 6] = [0.0, 0.5, -0.5, 0.25, -1.0, 0.75];

fn encode(format: u16, bits: u16, x: f64) -> Vec<u8> {
    match (format, bits) {
        (1, 8) => vec![(x * 128.0 + 128.0).round().min(255.0) as u8],
        (1, 16) => ((x * 32768.0).round().min(32767.0) as i16)
            .to_le_bytes()
            .to_vec(),
        (1, 24) => ((x * 8_388_608.0).round().min(8_388_607.0) as i32).to_le_bytes()[..3].to_vec(),
        (1, 32) => ((x * 2_147_483_648.0).round().min(2_147_483_647.0) as i32)
            .to_le_bytes()
            .to_vec(),
        (3, 32) => (x as f32).to_le_bytes().to_vec(),
        (3, 64) => x.to_le_bytes().to_vec(),
        _ => unreachable!(),
    }
}

#[test]
fn every_supported_format_reads_the_same_signal() {
    for (format, bits) in [(1, 8), (1, 16), (1, 24), (1, 32), (3, 32), (3, 64)] {
        for extensible in [false, true] {
            let data: Vec<u8> = VALUES
                .iter()
                .flat_map(|&x| encode(format, bits, x))
                .collect();
            let a = read_wav(&wav(format, 1, 44100, bits, &data, extensible)).unwrap();
            assert_eq!(
                (a.sample_rate, a.channels, a.bits, a.float),
                (44100, 1, bits, format == 3)
            );
            assert_eq!(a.samples.len(), VALUES.len());
            let tolerance = if bits == 8 { 1.0 / 128.0 } else { 1e-4 };
            for (got, want) in a.samples.iter().zip(VALUES) {
                assert!(
                    (*got as f64 - want).abs() <= tolerance,
                    "{format}/{bits}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn stereo_and_more_channels_are_mixed_to_their_mean() {
    // Left plays the values, right their negation halved: mean = values / 4.
    let data: Vec<u8> = VALUES
        .iter()
        .flat_map(|&x| [encode(1, 24, x), encode(1, 24, -x / 2.0)].concat())
        .collect();
    let a = read_wav(&wav(1, 2, 48000, 24, &data, false)).unwrap();
    assert_eq!(a.channels, 2);
    for (got, want) in a.samples.iter().zip(VALUES) {
        assert!(
            (*got as f64 - want / 4.0).abs() < 1e-6,
            "{got} vs {}",
            want / 4.0
        );
    }
    let six: Vec<u8> = (0..6)
        .flat_map(|c| encode(3, 32, c as f64 / 10.0))
        .collect();
    let a = read_wav(&wav(3, 6, 48000, 32, &six, false)).unwrap();
    assert_eq!(a.samples.len(), 1);
    assert!((a.samples[0] - 0.25).abs() < 1e-6);
    assert!((a.seconds() - 1.0 / 48000.0).abs() < 1e-12);
}

#[test]
fn a_data_chunk_longer_than_the_file_reads_the_whole_frames_there_are() {
    let data: Vec<u8> = VALUES.iter().flat_map(|&x| encode(1, 16, x)).collect();
    let mut bytes = wav(1, 1, 8000, 16, &data, false);
    let n = bytes.len();
    bytes[n - data.len() - 4..n - data.len()].copy_from_slice(&u32::MAX.to_le_bytes());
    bytes.pop(); // half a sample at the end
    assert_eq!(read_wav(&bytes).unwrap().samples.len(), VALUES.len() - 1);
}

#[test]
fn unsupported_and_broken_files_say_why() {
    let check = |bytes: &[u8], needle: &str| {
        let e = read_wav(bytes).unwrap_err();
        assert!(e.contains(needle), "`{e}` lacks `{needle}`");
    };
    let data = [0u8; 12];
    check(&wav(1, 1, 44100, 12, &data, false), "12-bit integer");
    check(&wav(3, 1, 44100, 16, &data, false), "16-bit float");
    check(&wav(2, 1, 44100, 16, &data, false), "format code 2");
    check(&wav(1, 0, 44100, 16, &data, false), "0 channels");
    check(&wav(1, 1, 0, 16, &data, false), "sample rate is 0");
    let mut bad_block = wav(1, 2, 44100, 16, &data, false);
    bad_block[32] = 3; // block align
    check(&bad_block, "block size is 3");
    check(b"fLaC\0\0\0\x22", "FLAC file");
    check(b"OggS\0\x02", "Ogg file");
    check(b"ID3\x04\0\0", "MP3 file");
    check(b"hello, world", "not a WAV file");
    check(b"RIFF\x04\0\0\0WAVE", "no fmt chunk");
    let good = wav(1, 1, 44100, 16, &data, false);
    check(&good[..good.len() - data.len() - 8], "no data chunk");
    assert_eq!(sniff(b"MThd\0\0\0\x06"), "MIDI");
    // Every prefix of a good file reads or is refused, never a panic.
    let ext = wav(3, 2, 44100, 32, &[0u8; 64], true);
    for n in 0..ext.len() {
        let _ = read_wav(&ext[..n]);
    }
}
