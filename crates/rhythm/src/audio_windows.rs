//! Audio loops to training rhythms, the paper's pipeline: onsets (librosa's detector, heard as a
//! loop so the downbeat on the first sample counts), rounded to the nearest sixteenth of a
//! 32-step window, a velocity per hit from the onset's strength.

use crate::onset::{onset_detect_looped, Onsets};
use crate::pattern::{Rhythm, STEPS};

/// What the musician says about a file's tempo. With neither `bars` nor `bpm`, the file is one
/// 2-bar loop (the paper's loops: 2 bars each).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoopSpec {
    /// Bars the whole file holds (its length divided by this is a bar). Ignored when `bpm` is
    /// given.
    pub bars: Option<f64>,
    /// Tempo in quarter-note beats per minute; sets the grid from the file's first sample.
    pub bpm: Option<f64>,
    /// Beats (quarter notes) per bar: a bar has `4 * beats_per_bar` sixteenths.
    pub beats_per_bar: u32,
}

impl Default for LoopSpec {
    fn default() -> Self {
        Self {
            bars: None,
            bpm: None,
            beats_per_bar: 4,
        }
    }
}

/// A file's onsets and its rhythms.
#[derive(Clone, Debug, PartialEq)]
pub struct AudioRhythms {
    /// Every onset found (times from the file's start, strengths 0..1).
    pub onsets: Onsets,
    /// One rhythm per window of 32 sixteenths, in order from the file's start; a window without
    /// onsets has no hits (a data set skips those).
    pub rhythms: Vec<Rhythm>,
    /// The grid: one sixteenth in seconds.
    pub sixteenth_s: f64,
    /// The tempo the grid implies, in quarter-note beats per minute.
    pub bpm: f64,
}

/// Quietest peak level a file may have and still be read as sound: -90 dBFS, below the
/// quantisation noise of 16-bit audio.
const SILENCE_PEAK: f32 = 3.162e-5;
/// Tempi outside this range (quarter-note bpm) mean the bars or bpm given (or assumed) are
/// wrong for the file; refused rather than turned into nonsense grids.
const BPM_RANGE: (f64, f64) = (20.0, 400.0);
/// Slack when counting whole windows and grid steps in a file whose length is a rounded number
/// of samples: 1 ms.
const LENGTH_SLACK_S: f64 = 0.001;

/// The rhythms of an audio file (`samples` mono, at `sample_rate` Hz), cut into windows of 32
/// sixteenths on the grid `spec` gives (from the file's first sample). A trailing part shorter
/// than a bar is dropped; one at least a bar long is a window with steps past the end empty.
/// Each onset goes to its nearest sixteenth; one that rounds to the grid point at or after the
/// file's end belongs to the loop's next round and is dropped. Several onsets on one step make
/// one hit with the strongest one's velocity, `1 + round(126 * strength)`.
///
/// Errors name the reason: samples not finite, a silent file, a file shorter than a bar, a
/// spec out of range, or a grid whose tempo is outside 20..400 bpm.
///
/// ```
/// use tidepool_rhythm::audio_windows::{rhythms_from_audio, LoopSpec};
/// // A 4 s loop (2 bars at 120 bpm) with a short buzz on every beat.
/// let sr = 22050.0;
/// let mut x = vec![0.0f32; 4 * 22050];
/// for beat in 0..8 {
///     for i in 0..400 {
///         x[beat * 11025 + i] = if i % 8 < 4 { 0.5 } else { -0.5 };
///     }
/// }
/// let out = rhythms_from_audio(&x, sr, &LoopSpec::default()).unwrap();
/// assert_eq!(out.rhythms[0].pattern_string(), "10001000100010001000100010001000");
/// assert!((out.bpm - 120.0).abs() < 1e-9);
/// ```
pub fn rhythms_from_audio(
    samples: &[f32],
    sample_rate: f32,
    spec: &LoopSpec,
) -> Result<AudioRhythms, String> {
    let sr = sample_rate as f64;
    if !(sr.is_finite() && sr > 0.0) {
        return Err(format!(
            "sample rate {sample_rate} Hz is not a positive number"
        ));
    }
    if let Some(i) = samples.iter().position(|v| !v.is_finite()) {
        return Err(format!(
            "sample {i} is not a finite number ({})",
            samples[i]
        ));
    }
    if samples.is_empty() {
        return Err("no samples".to_string());
    }
    let peak = samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak < SILENCE_PEAK {
        return Err(format!(
            "silent: the loudest sample is {:.1} dBFS",
            20.0 * libm::log10(peak.max(1e-12) as f64)
        ));
    }
    let duration_s = samples.len() as f64 / sr;
    let sixteenth_s = grid(duration_s, spec)?;
    let bar_s = sixteenth_s * 4.0 * spec.beats_per_bar as f64;
    if duration_s + LENGTH_SLACK_S < bar_s {
        return Err(format!(
            "shorter than a bar: {duration_s:.3} s, a bar is {bar_s:.3} s"
        ));
    }
    let window_s = sixteenth_s * STEPS as f64;
    let full = libm::floor((duration_s + LENGTH_SLACK_S) / window_s) as usize;
    let rest_s = duration_s - full as f64 * window_s;
    let windows = full + usize::from(rest_s + LENGTH_SLACK_S >= bar_s);
    let grid_points = libm::round(duration_s / sixteenth_s) as i64;

    let onsets = onset_detect_looped(samples, sample_rate);
    let mut strongest = vec![[None::<f32>; STEPS]; windows];
    for (&t, &strength) in onsets.times_s.iter().zip(&onsets.strength) {
        let step = libm::round(t / sixteenth_s) as i64;
        if step < 0 || step >= grid_points {
            continue;
        }
        let (window, step) = (step as usize / STEPS, step as usize % STEPS);
        if let Some(slots) = strongest.get_mut(window) {
            let slot = &mut slots[step];
            *slot = Some(slot.map_or(strength, |s: f32| s.max(strength)));
        }
    }
    let rhythms = strongest
        .iter()
        .map(|slots| {
            let mut hits = [false; STEPS];
            let mut velocity = [0u8; STEPS];
            for (i, slot) in slots.iter().enumerate() {
                if let Some(s) = slot {
                    hits[i] = true;
                    velocity[i] = velocity_of(*s);
                }
            }
            Rhythm::new(hits, Some(&velocity))
        })
        .collect();
    Ok(AudioRhythms {
        onsets,
        rhythms,
        sixteenth_s,
        bpm: 60.0 / (4.0 * sixteenth_s),
    })
}

/// A hit's velocity from its onset strength (0..1): 1..=127.
fn velocity_of(strength: f32) -> u8 {
    (1.0 + libm::round(126.0 * strength.clamp(0.0, 1.0) as f64)) as u8
}

/// The sixteenth's length in seconds for a file of `duration_s` under `spec`, or why not.
fn grid(duration_s: f64, spec: &LoopSpec) -> Result<f64, String> {
    if !(1..=16).contains(&spec.beats_per_bar) {
        return Err(format!(
            "{} beats per bar: expected 1 to 16",
            spec.beats_per_bar
        ));
    }
    let sixteenth_s = match (spec.bpm, spec.bars) {
        (Some(bpm), _) => {
            if !(bpm.is_finite() && bpm > 0.0) {
                return Err(format!("bpm {bpm} is not a positive number"));
            }
            15.0 / bpm
        }
        (None, bars) => {
            let bars = bars.unwrap_or(2.0);
            if !(bars.is_finite() && bars > 0.0) {
                return Err(format!("bars {bars} is not a positive number"));
            }
            duration_s / (bars * 4.0 * spec.beats_per_bar as f64)
        }
    };
    let bpm = 15.0 / sixteenth_s;
    if !(BPM_RANGE.0..=BPM_RANGE.1).contains(&bpm) {
        let said = match (spec.bpm, spec.bars) {
            (Some(_), _) => String::new(),
            (None, Some(b)) => format!(" ({duration_s:.3} s as {b} bars)"),
            (None, None) => {
                format!(" ({duration_s:.3} s taken as a 2-bar loop; say --bars or --bpm)")
            }
        };
        return Err(format!(
            "tempo {bpm:.1} bpm{said} is outside {}..{} bpm",
            BPM_RANGE.0, BPM_RANGE.1
        ));
    }
    Ok(sixteenth_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decaying noise bursts (seeded xorshift) at the given sixteenths of a grid.
    fn bursts(sr: f32, sixteenth_s: f64, steps: &[usize], total_steps: usize) -> Vec<f32> {
        let len = (total_steps as f64 * sixteenth_s * sr as f64).round() as usize;
        let mut x = vec![0.0f32; len];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for &s in steps {
            let start = (s as f64 * sixteenth_s * sr as f64).round() as usize;
            for (i, v) in x[start..].iter_mut().take(3000).enumerate() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let noise = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                *v += 0.5 * noise * libm::expf(-(i as f32) / 600.0);
            }
        }
        x
    }

    #[test]
    fn a_two_bar_loop_gives_its_pattern_including_the_downbeat_on_sample_zero() {
        let steps = [0, 3, 6, 8, 12, 14, 16, 19, 22, 24, 28, 30];
        let x = bursts(44100.0, 0.125, &steps, 32);
        let out = rhythms_from_audio(&x, 44100.0, &LoopSpec::default()).unwrap();
        assert_eq!(out.rhythms.len(), 1);
        let got: Vec<usize> = (0..STEPS).filter(|&i| out.rhythms[0].hits[i]).collect();
        assert_eq!(got, steps);
        assert!((out.bpm - 120.0).abs() < 1e-9);
        assert!(out.rhythms[0].velocity.iter().all(|&v| v <= 127));
        assert!(steps.iter().all(|&s| out.rhythms[0].velocity[s] >= 1));
    }

    #[test]
    fn a_longer_file_is_cut_into_windows_and_a_short_tail_dropped() {
        // 2 windows and 3 more sixteenths (less than a bar) at 100 bpm.
        let sixteenth = 0.15;
        let x = bursts(22050.0, sixteenth, &[0, 8, 36, 40], 67);
        let spec = LoopSpec {
            bpm: Some(100.0),
            ..LoopSpec::default()
        };
        let out = rhythms_from_audio(&x, 22050.0, &spec).unwrap();
        assert_eq!(out.rhythms.len(), 2);
        assert_eq!(out.rhythms[1].pattern_string().find('1'), Some(4));
        // 2 windows and a bar and a half: the tail is kept as a third window.
        let x = bursts(22050.0, sixteenth, &[0, 70], 64 + 24);
        assert_eq!(
            rhythms_from_audio(&x, 22050.0, &spec)
                .unwrap()
                .rhythms
                .len(),
            3
        );
    }

    #[test]
    fn bars_set_the_grid_from_the_file_length() {
        // 8 s said to hold 4 bars: 120 bpm, two windows, the second's downbeat found.
        let x = bursts(44100.0, 0.125, &[0, 4, 32, 40], 64);
        let spec = LoopSpec {
            bars: Some(4.0),
            ..LoopSpec::default()
        };
        let out = rhythms_from_audio(&x, 44100.0, &spec).unwrap();
        assert!((out.bpm - 120.0).abs() < 1e-9);
        assert_eq!(out.rhythms.len(), 2);
        let hits = |r: &Rhythm| (0..STEPS).filter(|&i| r.hits[i]).collect::<Vec<_>>();
        assert_eq!(hits(&out.rhythms[0]), [0, 4]);
        assert_eq!(hits(&out.rhythms[1]), [0, 8]);
        // In 3/4 a bar is 12 sixteenths: the same 8 s as 4 bars of 3/4 is 12 beats, 90 bpm.
        let spec = LoopSpec {
            bars: Some(4.0),
            beats_per_bar: 3,
            ..LoopSpec::default()
        };
        let out = rhythms_from_audio(&x, 44100.0, &spec).unwrap();
        assert!((out.bpm - 90.0).abs() < 1e-9);
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let sr = 44100.0;
        let silent = vec![0.0f32; 88200];
        let err = rhythms_from_audio(&silent, sr, &LoopSpec::default()).unwrap_err();
        assert!(err.starts_with("silent"), "{err}");
        let mut nan = bursts(sr, 0.125, &[0], 32);
        nan[100] = f32::NAN;
        let err = rhythms_from_audio(&nan, sr, &LoopSpec::default()).unwrap_err();
        assert!(err.contains("sample 100"), "{err}");
        let short = bursts(sr, 0.125, &[0], 8);
        let spec = LoopSpec {
            bpm: Some(120.0),
            ..LoopSpec::default()
        };
        let err = rhythms_from_audio(&short, sr, &spec).unwrap_err();
        assert!(err.starts_with("shorter than a bar"), "{err}");
        // A 0.2 s file as a 2-bar loop would be 2400 bpm.
        let err = rhythms_from_audio(&short[..8820], sr, &LoopSpec::default()).unwrap_err();
        assert!(err.contains("bpm") && err.contains("2-bar"), "{err}");
        for bad in [f64::NAN, 0.0, -3.0] {
            let spec = LoopSpec {
                bars: Some(bad),
                ..LoopSpec::default()
            };
            assert!(rhythms_from_audio(&short, sr, &spec).is_err());
        }
        assert!(rhythms_from_audio(&[], sr, &LoopSpec::default()).is_err());
        assert!(rhythms_from_audio(&short, 0.0, &LoopSpec::default()).is_err());
    }
}
