//! The onset detector against librosa itself: on a few synthetic signals (tones, noise bursts,
//! clicks over a chirp, a signal shorter than one FFT, odd sample rates and lengths) the onset
//! envelope matches librosa's value for value and the onset frames are the same.
//!
//! librosa's numbers are committed in tools/rhythm/librosa-onsets.json (written by
//! tools/rhythm/onsets_librosa.py from WAV files this test writes when run with
//! `TIDEPOOL_ONSET_WAVS=dir cargo test -p tidepool-rhythm --test onsets_librosa -- --ignored`);
//! each entry carries a fingerprint of the samples librosa loaded, so the signals regenerated
//! here are proven to be those.

use std::f64::consts::PI;

use serde_json::Value;
use tidepool_rhythm::onset::eval::fingerprint;
use tidepool_rhythm::onset::{onset_detect, onset_strength};

const RESULTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tools/rhythm/librosa-onsets.json"
);

/// A seeded xorshift64 giving uniform noise in -1..1.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

struct Signal {
    name: &'static str,
    sample_rate: u32,
    samples: Vec<f32>,
}

/// Adds a decaying sine (with two harmonics) at `start_s`.
fn tone(x: &mut [f32], sr: f64, start_s: f64, hz: f64, amp: f64, decay_s: f64) {
    let start = (start_s * sr) as usize;
    for (i, v) in x.iter_mut().skip(start).enumerate() {
        let t = i as f64 / sr;
        let env = amp * libm::exp(-t / decay_s) * (1.0 - libm::exp(-t / 0.002));
        let s = libm::sin(2.0 * PI * hz * t)
            + 0.5 * libm::sin(4.0 * PI * hz * t)
            + 0.25 * libm::sin(6.0 * PI * hz * t);
        *v += (env * s) as f32;
    }
}

fn signals() -> Vec<Signal> {
    let mut out = Vec::new();

    let sr = 22050.0;
    let mut x = vec![0.0f32; 3 * 22050];
    let notes = [
        (0.0, 220.0, 0.5),
        (0.31, 330.0, 0.3),
        (0.52, 440.0, 0.6),
        (0.9, 196.0, 0.2),
        (1.33, 587.0, 0.4),
        (1.71, 262.0, 0.5),
        (2.05, 880.0, 0.15),
        (2.5, 123.0, 0.6),
    ];
    for (t, hz, amp) in notes {
        tone(&mut x, sr, t, hz, amp, 0.25);
    }
    for (i, v) in x.iter_mut().enumerate() {
        *v += (0.01 * libm::sin(2.0 * PI * 60.0 * i as f64 / sr)) as f32;
    }
    out.push(Signal {
        name: "sig-tones-22050",
        sample_rate: 22050,
        samples: x,
    });

    let sr = 44100.0;
    let mut noise = Noise(7);
    let mut x: Vec<f32> = (0..110250).map(|_| (0.003 * noise.next()) as f32).collect();
    for (k, start_s) in [0.1, 0.45, 0.6, 1.2, 1.25, 1.9, 2.3]
        .into_iter()
        .enumerate()
    {
        let start = (start_s * sr) as usize;
        let amp = 0.2 + 0.1 * k as f64;
        for (i, v) in x.iter_mut().skip(start).take(20000).enumerate() {
            *v += (amp * noise.next() * libm::exp(-(i as f64) / 2500.0)) as f32;
        }
    }
    out.push(Signal {
        name: "sig-noise-44100",
        sample_rate: 44100,
        samples: x,
    });

    let sr = 48000.0;
    let len = 2 * 48000 + 333;
    let mut x: Vec<f32> = (0..len)
        .map(|i| {
            let t = i as f64 / sr;
            // A linear chirp 100 Hz -> 8 kHz over the file.
            let phase = 2.0 * PI * (100.0 * t + 0.5 * (7900.0 / 2.0) * t * t);
            (0.1 * libm::sin(phase)) as f32
        })
        .collect();
    for click_s in [0.05, 0.3, 0.7, 0.71, 1.1, 1.6, 1.95] {
        let at = (click_s * sr) as usize;
        for (i, v) in x.iter_mut().skip(at).take(64).enumerate() {
            *v += (0.9 * libm::exp(-(i as f64) / 8.0)) as f32;
        }
    }
    out.push(Signal {
        name: "sig-clicks-chirp-48000",
        sample_rate: 48000,
        samples: x,
    });

    let mut x = vec![0.0f32; 1500];
    tone(&mut x, 16000.0, 0.03, 500.0, 0.5, 0.05);
    out.push(Signal {
        name: "sig-short-16000",
        sample_rate: 16000,
        samples: x,
    });

    let sr = 32000.0;
    let mut x = vec![0.0f32; 32000 * 2 + 77];
    for k in 0..10 {
        tone(
            &mut x,
            sr,
            0.02 + 0.2 * k as f64,
            150.0 + 40.0 * k as f64,
            0.02 + 0.06 * k as f64,
            0.12,
        );
    }
    out.push(Signal {
        name: "sig-crescendo-32000",
        sample_rate: 32000,
        samples: x,
    });
    out
}

/// A mono IEEE-float WAV, so librosa loads exactly these samples.
fn mono_wav(sample_rate: u32, samples: &[f32]) -> Vec<u8> {
    let data = (samples.len() * 4) as u32;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&3u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * 4).to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Writes the signals for tools/rhythm/onsets_librosa.py into `$TIDEPOOL_ONSET_WAVS`.
#[test]
#[ignore = "writes the WAV files librosa analyses; run by tools/rhythm/onsets_librosa.sh"]
fn write_signals_for_librosa() {
    let dir = std::env::var("TIDEPOOL_ONSET_WAVS").expect("set TIDEPOOL_ONSET_WAVS to a folder");
    for s in signals() {
        let path = format!("{dir}/{}.wav", s.name);
        std::fs::write(&path, mono_wav(s.sample_rate, &s.samples)).expect("write the WAV");
    }
}

fn librosa_entry<'a>(results: &'a Value, name: &str) -> &'a Value {
    results["files"]
        .as_array()
        .expect("a files array")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| {
            panic!("{name} is not in {RESULTS}: rerun tools/rhythm/onsets_librosa.sh")
        })
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

fn load_results() -> Value {
    let text = std::fs::read_to_string(RESULTS).expect("the committed librosa results");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn envelope_and_onset_frames_match_librosa() {
    let results = load_results();
    for s in signals() {
        let lib = librosa_entry(&results, s.name);
        assert_eq!(
            lib["fnv1a64"].as_str(),
            Some(format!("{:016x}", fingerprint(&s.samples)).as_str()),
            "{}: librosa analysed other samples than these",
            s.name
        );
        assert_eq!(lib["sr"].as_f64(), Some(s.sample_rate as f64), "{}", s.name);

        let ours = onset_strength(&s.samples, s.sample_rate as f64);
        let theirs = floats(&lib["envelope"]);
        assert_eq!(ours.len(), theirs.len(), "{}: envelope length", s.name);
        let scale = theirs.iter().cloned().fold(0.0, f64::max);
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(&a, &b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "{}: worst envelope difference {:.2e} of max {scale:.3}",
            s.name,
            worst / scale.max(1e-6)
        );
        assert!(
            worst <= 2e-6 * scale.max(1e-6),
            "{}: envelope differs by {worst} (max {scale})",
            s.name
        );

        let frames: Vec<f64> = onset_detect(&s.samples, s.sample_rate as f32)
            .frames
            .iter()
            .map(|&f| f as f64)
            .collect();
        assert_eq!(frames, floats(&lib["frames"]), "{}: onset frames", s.name);
        let times = onset_detect(&s.samples, s.sample_rate as f32).times_s;
        for (a, b) in times.iter().zip(floats(&lib["times_s"])) {
            assert!((a - b).abs() < 1e-9, "{}: time {a} vs {b}", s.name);
        }
    }
}
