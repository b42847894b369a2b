//! The onset detector on loops played by the instrument itself, whose note-on frames are the
//! true onsets: varied tempo, sample rate, timbre, level, added noise and a sustained pad.
//! Our detector's F-measure (mir_eval's, ±50 ms) is at least librosa's on every loop, our
//! plain `onset_detect` picks librosa's very frames, and a clean loop gives its 32-step pattern
//! exactly.
//!
//! librosa's results are committed in tools/rhythm/librosa-onsets.json; this test writes the
//! loops it analysed when run with
//! `TIDEPOOL_ONSET_WAVS=dir cargo test -p tidepool-cli --test onset_loops -- --ignored`
//! (tools/rhythm/onsets_librosa.sh does it all), and checks each loop's fingerprint against the
//! one librosa's run recorded.

use serde_json::Value;
use tidepool_engine::render::render;
use tidepool_engine::wav::wav_bytes;
use tidepool_engine::{Input, InputEvent, ParamId, Patch};
use tidepool_rhythm::audio_windows::{rhythms_from_audio, LoopSpec};
use tidepool_rhythm::onset::eval::{f_measure, fingerprint};
use tidepool_rhythm::onset::{onset_detect, onset_detect_looped, onset_strength};
use tidepool_rhythm::{Rhythm, STEPS};

const RESULTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tools/rhythm/librosa-onsets.json"
);
/// mir_eval's onset window.
const WINDOW_S: f64 = 0.05;

/// The synth's sound for a loop (the engine's `syn.*` parameters).
#[derive(Clone, Copy)]
struct Timbre {
    square: bool,
    cutoff_hz: f64,
    resonance: f64,
    filter_env_oct: f64,
    attack_ms: f64,
    decay_ms: f64,
    sustain: f64,
    release_ms: f64,
}

const SAW: Timbre = Timbre {
    square: false,
    cutoff_hz: 1800.0,
    resonance: 0.35,
    filter_env_oct: 1.5,
    attack_ms: 4.0,
    decay_ms: 220.0,
    sustain: 0.5,
    release_ms: 250.0,
};

struct Case {
    name: &'static str,
    sample_rate: u32,
    bpm: f64,
    pattern: &'static str,
    timbre: Timbre,
    /// The synth's output gain.
    gain_db: f64,
    /// Note length as a fraction of a sixteenth.
    gate: f64,
    /// White noise this many dB below the loop's RMS level (None: no noise).
    noise_snr_db: Option<f64>,
    /// A held pad chord under the loop at this gain (None: no pad).
    pad_gain_db: Option<f64>,
    seed: u64,
}

impl Case {
    /// No noise and no pad: the pattern must come back exactly.
    fn clean(&self) -> bool {
        self.noise_snr_db.is_none() && self.pad_gain_db.is_none()
    }
}

fn cases() -> Vec<Case> {
    let pluck = Timbre {
        decay_ms: 80.0,
        sustain: 0.0,
        release_ms: 60.0,
        cutoff_hz: 2500.0,
        ..SAW
    };
    let base = Case {
        name: "",
        sample_rate: 44100,
        bpm: 120.0,
        pattern: "1000101000101000 1000100010100010",
        timbre: SAW,
        gain_db: -6.0,
        gate: 0.5,
        noise_snr_db: None,
        pad_gain_db: None,
        seed: 1,
    };
    vec![
        Case {
            name: "loop-clean-saw-120",
            ..base
        },
        Case {
            name: "loop-clean-square-100",
            sample_rate: 48000,
            bpm: 100.0,
            pattern: "1001001000101000 1001001000100110",
            timbre: Timbre {
                square: true,
                cutoff_hz: 3000.0,
                decay_ms: 120.0,
                sustain: 0.2,
                ..SAW
            },
            seed: 2,
            ..base
        },
        Case {
            name: "loop-clean-pluck-140",
            bpm: 140.0,
            pattern: "1011101010111010 1010111010101110",
            timbre: pluck,
            seed: 3,
            ..base
        },
        Case {
            name: "loop-clean-dull-90",
            sample_rate: 48000,
            bpm: 90.0,
            pattern: "1000000010100000 1000001000001000",
            timbre: Timbre {
                cutoff_hz: 400.0,
                resonance: 0.1,
                filter_env_oct: 0.5,
                attack_ms: 15.0,
                ..SAW
            },
            seed: 4,
            ..base
        },
        Case {
            name: "loop-clean-legato-128",
            bpm: 128.0,
            pattern: "1010101010101010 1010101011111111",
            timbre: Timbre {
                sustain: 0.8,
                ..SAW
            },
            gate: 1.0,
            seed: 5,
            ..base
        },
        Case {
            name: "loop-clean-quiet-110",
            bpm: 110.0,
            pattern: "1000100110001000 1000100110101010",
            gain_db: -40.0,
            seed: 6,
            ..base
        },
        Case {
            name: "loop-clean-dense-160",
            sample_rate: 48000,
            bpm: 160.0,
            pattern: "1111101111011111 1011111101111011",
            timbre: pluck,
            seed: 7,
            ..base
        },
        Case {
            name: "loop-noise-120",
            noise_snr_db: Some(12.0),
            seed: 8,
            ..base
        },
        Case {
            name: "loop-noise-heavy-95",
            sample_rate: 48000,
            bpm: 95.0,
            pattern: "1001000100100100 1000100100010010",
            timbre: pluck,
            noise_snr_db: Some(3.0),
            seed: 9,
            ..base
        },
        Case {
            name: "loop-pad-100",
            sample_rate: 48000,
            bpm: 100.0,
            pattern: "1000101000101000 1010100010001010",
            pad_gain_db: Some(-6.0),
            seed: 10,
            ..base
        },
        Case {
            name: "loop-pad-noise-quiet-135",
            bpm: 135.0,
            pattern: "1010001010100010 1000101010001011",
            timbre: pluck,
            gain_db: -24.0,
            noise_snr_db: Some(15.0),
            pad_gain_db: Some(-24.0),
            seed: 11,
            ..base
        },
    ]
}

/// A seeded xorshift64.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in -1..1.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

fn synth_patch(t: &Timbre, gain_db: f64) -> Patch {
    let mut patch = Patch::default();
    let v = &mut patch.values;
    v.set(ParamId::ArpMode, 0.0);
    for depth in [
        ParamId::LfoDepth1,
        ParamId::LfoDepth2,
        ParamId::LfoDepth3,
        ParamId::LfoDepth4,
    ] {
        v.set(depth, 0.0);
    }
    v.set(ParamId::SynthWave, if t.square { 1.0 } else { 0.0 });
    v.set(ParamId::SynthCutoff, t.cutoff_hz);
    v.set(ParamId::SynthResonance, t.resonance);
    v.set(ParamId::SynthFilterEnv, t.filter_env_oct);
    v.set(ParamId::SynthAttack, t.attack_ms);
    v.set(ParamId::SynthDecay, t.decay_ms);
    v.set(ParamId::SynthSustain, t.sustain);
    v.set(ParamId::SynthRelease, t.release_ms);
    v.set(ParamId::SynthGain, gain_db);
    patch
}

fn note(frame: u64, pitch: u8, velocity: u8) -> InputEvent {
    let input = if velocity == 0 {
        Input::NoteOff { pitch }
    } else {
        Input::NoteOn { pitch, velocity }
    };
    InputEvent { frame, input }
}

fn mono(left: &[f32], right: &[f32]) -> Vec<f32> {
    left.iter().zip(right).map(|(l, r)| 0.5 * (l + r)).collect()
}

/// A rendered loop: mono samples and the true onset times in seconds.
struct Loop {
    samples: Vec<f32>,
    truth_s: Vec<f64>,
    pattern: Rhythm,
}

/// Plays the pattern twice (eight pitches cycling over its hits, seeded velocities) and keeps
/// the second time round: a seamless loop, the first round's tails sounding into its start, as
/// a loop bounced from a playing sequencer is.
fn render_loop(case: &Case) -> Loop {
    let sr = case.sample_rate as f64;
    let pattern = Rhythm::parse_pattern(case.pattern).expect("a valid pattern");
    let sixteenth_s = 15.0 / case.bpm;
    let loop_frames = (STEPS as f64 * sixteenth_s * sr).round() as usize;
    let frame_of = |round: usize, step: f64| {
        (round * loop_frames) as u64 + (step * sixteenth_s * sr).round() as u64
    };
    let pitches = [48u8, 55, 60, 63, 58, 67, 51, 62];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ case.seed);
    let mut events = Vec::new();
    for round in 0..2 {
        let hits = (0..STEPS).filter(|&s| pattern.hits[s]);
        for (k, step) in hits.enumerate() {
            let pitch = pitches[k % pitches.len()];
            let velocity = 70 + (rng.next_u64() % 58) as u8;
            events.push(note(frame_of(round, step as f64), pitch, velocity));
            events.push(note(frame_of(round, step as f64 + case.gate) - 1, pitch, 0));
        }
    }
    let total = 2 * loop_frames;
    let out = render(
        &synth_patch(&case.timbre, case.gain_db),
        sr,
        &events,
        total,
        128,
    );
    let mut samples = mono(&out.left[loop_frames..], &out.right[loop_frames..]);
    let truth_s = out
        .notes
        .iter()
        .filter(|n| n.velocity > 0 && n.frame >= loop_frames as u64)
        .map(|n| (n.frame - loop_frames as u64) as f64 / sr)
        .collect();

    if let Some(pad_db) = case.pad_gain_db {
        // A slow pad chord held from the start, in full sustain by the second round.
        let pad = Timbre {
            cutoff_hz: 900.0,
            attack_ms: 600.0,
            decay_ms: 1000.0,
            sustain: 1.0,
            release_ms: 2000.0,
            ..SAW
        };
        let chord: Vec<InputEvent> = [36u8, 43, 52].iter().map(|&p| note(0, p, 90)).collect();
        let out = render(&synth_patch(&pad, pad_db), sr, &chord, total, 128);
        for (s, p) in samples
            .iter_mut()
            .zip(mono(&out.left[loop_frames..], &out.right[loop_frames..]))
        {
            *s += p;
        }
    }
    if let Some(snr_db) = case.noise_snr_db {
        let rms = (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64)
            .sqrt();
        // Uniform noise in -a..a has RMS a / sqrt(3).
        let amplitude = rms * 10f64.powf(-snr_db / 20.0) * 3f64.sqrt();
        for s in &mut samples {
            *s += (amplitude * rng.uniform()) as f32;
        }
    }
    Loop {
        samples,
        truth_s,
        pattern,
    }
}

/// Writes every loop and its true onsets for tools/rhythm/onsets_librosa.py into
/// `$TIDEPOOL_ONSET_WAVS`.
#[test]
#[ignore = "writes the WAV files librosa analyses; run by tools/rhythm/onsets_librosa.sh"]
fn write_loops_for_librosa() {
    let dir = std::env::var("TIDEPOOL_ONSET_WAVS").expect("set TIDEPOOL_ONSET_WAVS to a folder");
    for case in cases() {
        let l = render_loop(&case);
        // The same mono signal on both channels: librosa's mono mix gives it back bit for bit.
        let wav = wav_bytes(case.sample_rate, &l.samples, &l.samples);
        std::fs::write(format!("{dir}/{}.wav", case.name), wav).expect("write the WAV");
        let truth: String = l.truth_s.iter().map(|t| format!("{t:.9}\n")).collect();
        std::fs::write(format!("{dir}/{}.truth.txt", case.name), truth).expect("write truth");
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

#[test]
fn onsets_of_rendered_loops_score_at_least_librosas_f_measure() {
    let text = std::fs::read_to_string(RESULTS).expect("the committed librosa results");
    let results: Value = serde_json::from_str(&text).expect("valid JSON");
    let files = results["files"].as_array().expect("a files array");
    let mut table = String::from("loop                         ours   librosa  plain\n");
    for case in cases() {
        let l = render_loop(&case);
        let lib = files
            .iter()
            .find(|f| f["name"] == case.name)
            .unwrap_or_else(|| {
                panic!(
                    "{} is missing: rerun tools/rhythm/onsets_librosa.sh",
                    case.name
                )
            });
        assert_eq!(
            lib["fnv1a64"].as_str(),
            Some(format!("{:016x}", fingerprint(&l.samples)).as_str()),
            "{}: librosa analysed other samples than these",
            case.name
        );
        let sr = case.sample_rate as f32;

        // Faithful: the envelope is librosa's and the plain detector picks librosa's frames on
        // the instrument's sound too.
        let envelope = onset_strength(&l.samples, case.sample_rate as f64);
        let theirs = floats(&lib["envelope"]);
        assert_eq!(
            envelope.len(),
            theirs.len(),
            "{}: envelope length",
            case.name
        );
        let scale = theirs.iter().cloned().fold(0.0, f64::max);
        for (t, (&a, &b)) in envelope.iter().zip(&theirs).enumerate() {
            assert!(
                (a as f64 - b).abs() <= 2e-6 * scale,
                "{}: envelope frame {t}: {a} vs librosa's {b}",
                case.name
            );
        }
        let plain = onset_detect(&l.samples, sr);
        let plain_frames: Vec<f64> = plain.frames.iter().map(|&f| f as f64).collect();
        assert_eq!(
            plain_frames,
            floats(&lib["frames"]),
            "{}: frames",
            case.name
        );

        // Our scorer agrees with mir_eval on librosa's onsets.
        let librosa_f = lib["f_measure"].as_f64().expect("librosa's F-measure");
        let rescored = f_measure(&l.truth_s, &floats(&lib["times_s"]), WINDOW_S);
        assert!(
            (rescored.f_measure - librosa_f).abs() < 1e-12,
            "{}: our scoring {} vs mir_eval {librosa_f}",
            case.name,
            rescored.f_measure
        );

        let ours = f_measure(
            &l.truth_s,
            &onset_detect_looped(&l.samples, sr).times_s,
            WINDOW_S,
        );
        let plain_f = f_measure(&l.truth_s, &plain.times_s, WINDOW_S).f_measure;
        table += &format!(
            "{:<28} {:.3}  {:.3}    {:.3}\n",
            case.name, ours.f_measure, librosa_f, plain_f
        );
        assert!(
            ours.f_measure >= librosa_f,
            "{}: F {} < librosa's {librosa_f}",
            case.name,
            ours.f_measure
        );

        if case.clean() {
            let found = rhythms_from_audio(&l.samples, sr, &LoopSpec::default())
                .unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_eq!(found.rhythms.len(), 1, "{}", case.name);
            assert_eq!(
                found.rhythms[0].pattern_string(),
                l.pattern.pattern_string(),
                "{}: pattern",
                case.name
            );
        }
    }
    eprintln!("{table}");
}
