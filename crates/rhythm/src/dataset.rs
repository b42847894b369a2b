//! The training data set: rhythms from the musician's files (MIDI, WAV here; any audio the
//! browser decodes, in the page), with where each came from and which files were refused and
//! why, and its JSON file (what `tidepool rhythm dataset` writes, `train` reads, and
//! `data/rhythm/builtin.json` is).
//!
//! The file, one rhythm per line:
//! ```text
//! {"version":1,
//! "rhythms":[
//! {"p":"10001000100010001000100010101010","v":[112,88,100,88,112,88,100,88,76,76],"src":"a.mid#bar 1"},
//! {"p":"10000000100000001000000010000000","v":null,"src":"b.wav#1"}
//! ],
//! "refused":[{"file":"c.txt","reason":"not a MIDI or WAV file"}]}
//! ```
//! `p` is the 32 steps, `1` a hit. `v` holds the velocities (1–127) of the hits only, in step
//! order (so its length is the number of `1`s in `p`; a reader also accepts all 32 steps with 0
//! at the rests), or `null` when the source has none (the hits then get
//! [`crate::pattern::DEFAULT_VELOCITY`]). `src` is free text: file and bar or window. Unknown
//! fields are ignored, so the format can grow.

use crate::audio_file::{read_wav, sniff};
use crate::audio_windows::{rhythms_from_audio, LoopSpec};
use crate::midi_file::read_midi;
use crate::midi_windows::{rhythms_from_midi, NoteFilter};
use crate::pattern::{Rhythm, STEPS};
// The workspace's one JSON reader and string writer.
use tidepool_melody::model_file::json_header::{self as json, parse_json, quote};

/// Files larger than this are refused before they are read (64 MiB: minutes of stereo
/// 24-bit audio, far more than a loop).
pub const MAX_FILE_BYTES: usize = 64 << 20;

/// One training rhythm and its origin.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub rhythm: Rhythm,
    /// Whether the velocities came from the source (MIDI velocities, onset strengths,
    /// accents), rather than the default.
    pub has_velocity: bool,
    pub src: String,
}

/// A file that gave no rhythm, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub file: String,
    pub reason: String,
}

/// How files become rhythms: the loop length for audio, the notes taken from MIDI.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SourceOptions {
    pub loop_spec: LoopSpec,
    pub notes: NoteFilter,
}

/// Rhythms and refusals, in the order the files were added.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Dataset {
    pub entries: Vec<Entry>,
    pub refused: Vec<Refused>,
}

impl Dataset {
    pub fn new() -> Dataset {
        Dataset::default()
    }

    /// The rhythms alone, for the trainer.
    pub fn rhythms(&self) -> Vec<Rhythm> {
        self.entries.iter().map(|e| e.rhythm.clone()).collect()
    }

    /// Adds the rhythms of one file (MIDI or WAV, told apart by their first bytes, not the
    /// name). Never fails: a file that gives nothing is recorded in `refused` with the reason,
    /// so one bad file costs nothing else. Returns how many rhythms it gave.
    pub fn add_file(&mut self, name: &str, bytes: &[u8], options: &SourceOptions) -> usize {
        let result = if bytes.len() > MAX_FILE_BYTES {
            Err(format!(
                "{} bytes is over the limit of {} MiB",
                bytes.len(),
                MAX_FILE_BYTES >> 20
            ))
        } else if bytes.is_empty() {
            Err("the file is empty".to_string())
        } else {
            match sniff(bytes) {
                "MIDI" => self.add_midi(name, bytes, &options.notes),
                "WAV" => read_wav(bytes).and_then(|a| {
                    self.add_audio(name, &a.samples, a.sample_rate as f32, &options.loop_spec)
                }),
                "unknown" => Err("not a MIDI or WAV file".to_string()),
                kind => Err(format!(
                    "a {kind} file: the command line reads WAV and MIDI (the page decodes other audio)"
                )),
            }
        };
        self.record(name, result)
    }

    /// Adds the rhythms of an already-read outcome, or its refusal.
    fn record(&mut self, name: &str, result: Result<usize, String>) -> usize {
        match result {
            Ok(n) => n,
            Err(reason) => {
                self.refused.push(Refused {
                    file: name.to_string(),
                    reason,
                });
                0
            }
        }
    }

    /// Adds every 2-bar window of a standard MIDI file (see [`crate::midi_windows`]).
    pub fn add_midi(
        &mut self,
        name: &str,
        bytes: &[u8],
        filter: &NoteFilter,
    ) -> Result<usize, String> {
        let file = read_midi(bytes).map_err(|e| format!("not a readable MIDI file: {e}"))?;
        if file.notes.is_empty() {
            return Err("the MIDI file has no notes".into());
        }
        let found = rhythms_from_midi(&file, filter);
        if found.onsets == 0 {
            return Err(format!("no notes {}", describe(filter)));
        }
        if found.rhythms.is_empty() {
            return Err(format!(
                "all {} onsets fall between windows (see the notes on 3/4 and 6/8)",
                found.onsets
            ));
        }
        let n = found.rhythms.len();
        self.entries
            .extend(found.rhythms.into_iter().map(|w| Entry {
                rhythm: w.rhythm,
                has_velocity: true,
                src: format!("{name}#bar {}", w.bar),
            }));
        Ok(n)
    }

    /// Adds the 2-bar windows of mono audio (see [`crate::audio_windows`]); the page calls this
    /// with the samples the browser decoded.
    pub fn add_audio(
        &mut self,
        name: &str,
        samples: &[f32],
        sample_rate: f32,
        spec: &LoopSpec,
    ) -> Result<usize, String> {
        let found = rhythms_from_audio(samples, sample_rate, spec)?;
        let before = self.entries.len();
        for (i, rhythm) in found.rhythms.into_iter().enumerate() {
            if rhythm.hit_count() > 0 {
                self.entries.push(Entry {
                    rhythm,
                    has_velocity: true,
                    src: format!("{name}#{}", i + 1),
                });
            }
        }
        match self.entries.len() - before {
            0 => Err("no onset was found in any 2-bar window".into()),
            n => Ok(n),
        }
    }

    /// Keeps the first of rhythms with the same hits and velocities; returns how many went.
    pub fn dedup(&mut self) -> usize {
        let mut seen = std::collections::BTreeSet::new();
        let before = self.entries.len();
        self.entries
            .retain(|e| seen.insert((e.rhythm.hits, e.rhythm.velocity)));
        before - self.entries.len()
    }

    /// The JSON text of the module notes, one rhythm per line.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\"version\":1,\n\"rhythms\":[");
        for (i, e) in self.entries.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            let v = if e.has_velocity {
                let hits: Vec<String> = (0..STEPS)
                    .filter(|&s| e.rhythm.hits[s])
                    .map(|s| e.rhythm.velocity[s].to_string())
                    .collect();
                format!("[{}]", hits.join(","))
            } else {
                "null".to_string()
            };
            out.push_str(&format!(
                "{{\"p\":\"{}\",\"v\":{v},\"src\":{}}}",
                e.rhythm.pattern_string(),
                quote(&e.src)
            ));
        }
        out.push_str("\n],\n\"refused\":[");
        for (i, r) in self.refused.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str(&format!(
                "{{\"file\":{},\"reason\":{}}}",
                quote(&r.file),
                quote(&r.reason)
            ));
        }
        out.push_str("\n]}\n");
        out
    }

    /// Reads the JSON text; errors name the rhythm (counting from 0) and what is wrong with it.
    pub fn from_json(text: &str) -> Result<Dataset, String> {
        let doc = parse_json(text.as_bytes()).map_err(|e| e.to_string())?;
        match doc.get("version").and_then(json::Value::as_f64) {
            Some(1.0) => {}
            Some(v) => return Err(format!("data-set version {v} is not known (1 is)")),
            None => return Err("not a rhythm data set: no \"version\"".into()),
        }
        let rhythms = doc
            .get("rhythms")
            .and_then(json::Value::as_array)
            .ok_or("not a rhythm data set: no \"rhythms\" list")?;
        let mut set = Dataset::new();
        for (i, item) in rhythms.iter().enumerate() {
            set.entries
                .push(entry(item).map_err(|e| format!("rhythm {i}: {e}"))?);
        }
        for (i, item) in doc
            .get("refused")
            .and_then(json::Value::as_array)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let field = |k: &str| {
                item.get(k)
                    .and_then(json::Value::as_str)
                    .map(String::from)
                    .ok_or_else(|| format!("refused {i}: no \"{k}\" text"))
            };
            set.refused.push(Refused {
                file: field("file")?,
                reason: field("reason")?,
            });
        }
        Ok(set)
    }
}

fn entry(item: &json::Value) -> Result<Entry, String> {
    let p = item
        .get("p")
        .and_then(json::Value::as_str)
        .ok_or("no \"p\" pattern text")?;
    let mut rhythm = Rhythm::parse_pattern(p)?;
    let src = item
        .get("src")
        .and_then(json::Value::as_str)
        .unwrap_or("")
        .to_string();
    let has_velocity = match item.get("v") {
        None | Some(json::Value::Null) => false,
        Some(v) => {
            let list = v.as_array().ok_or("\"v\" is neither a list nor null")?;
            let mut values = Vec::with_capacity(list.len());
            for x in list {
                match x.as_f64() {
                    Some(n) if n.fract() == 0.0 && (0.0..=127.0).contains(&n) => {
                        values.push(n as u8)
                    }
                    _ => return Err(format!("velocity {x:?} is not a whole number 0..127")),
                }
            }
            let hit_steps: Vec<usize> = (0..STEPS).filter(|&s| rhythm.hits[s]).collect();
            let per_hit: Vec<u8> = if values.len() == hit_steps.len() {
                values
            } else if values.len() == STEPS {
                hit_steps.iter().map(|&s| values[s]).collect()
            } else {
                return Err(format!(
                    "\"v\" has {} velocities; the pattern has {} hits (or give all {STEPS} steps)",
                    values.len(),
                    hit_steps.len()
                ));
            };
            for (&s, &v) in hit_steps.iter().zip(&per_hit) {
                if v == 0 {
                    return Err(format!("step {s} is a hit with velocity 0"));
                }
                rhythm.velocity[s] = v;
            }
            true
        }
    };
    Ok(Entry {
        rhythm,
        has_velocity,
        src,
    })
}

/// "on channel 10 between pitches 36 and 51", for a refusal.
fn describe(f: &NoteFilter) -> String {
    let mut s = String::new();
    if let Some(c) = f.channel {
        s.push_str(&format!("on channel {}", c + 1));
    }
    if (f.pitch_min, f.pitch_max) != (0, 127) {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&format!(
            "between pitches {} and {}",
            f.pitch_min, f.pitch_max
        ));
    }
    if s.is_empty() {
        s.push_str("at all");
    }
    s
}
