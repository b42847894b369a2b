//! A recorded performance: the patch at the start, the sample rate, the length and every input the
//! engine was given with its frame, as a small JSON file the page writes and `tidepool render
//! --performance` reads, so both render the same samples from it.
//!
//! ```text
//! {"format":"tidepool-performance","version":1,"sample_rate":48000,"frames":96000,
//!  "patch":"tp1&bpm=120","events":[[0,"on",60,100],[24000,"off",60],[0,"sustain",1],
//!  [0,"panic"],[0,"param","syn.cut",900],[0,"clock","tick"],[0,"clock","spp",16]]}
//! ```
//!
//! Clock messages are `"tick"`, `"start"`, `"continue"`, `"stop"` and `"spp"` (song position, in
//! sixteenths). The text is read by the workspace's own JSON reader (the safetensors header's,
//! `tidepool_melody::model_file::json_header`: the wasm module carries no JSON library), then
//! checked against this shape: a bad event is reported with its index and skipped, the rest are
//! kept.
//!
//! ```
//! use tidepool_engine::performance::Performance;
//! let text = r#"{"format":"tidepool-performance","version":1,"sample_rate":48000,
//!     "frames":4800,"patch":"tp1","events":[[0,"on",60,100],[10,"off",60,"x"]]}"#;
//! let read = Performance::parse(text).unwrap();
//! assert_eq!(read.performance.events.len(), 1);
//! assert!(read.errors[0].starts_with("event 1:"));
//! ```

use crate::events::{ClockIn, Input, InputEvent};
use crate::params::ParamId;
use std::fmt::Write;
use tidepool_melody::model_file::json_header::{self, Value};

/// The `format` field's value.
pub const FORMAT: &str = "tidepool-performance";
/// The version this code writes and reads.
pub const VERSION: u32 = 1;
/// Longest text read (about 64 MB: an hour of busy playing is a few MB).
pub const MAX_TEXT_BYTES: usize = 64 << 20;
/// Most events kept.
pub const MAX_EVENTS: usize = 2_000_000;
/// Longest performance: an hour at the highest sample rate.
pub const MAX_FRAMES: u64 = 3600 * 384_000;

/// A recorded performance (see the module documentation for its text form).
#[derive(Clone, Debug, PartialEq)]
pub struct Performance {
    pub sample_rate: f64,
    /// Patch text at the start of the recording.
    pub patch: String,
    /// Length in frames.
    pub frames: u64,
    /// Inputs in the order given, frames counted from the start of the recording.
    pub events: Vec<InputEvent>,
}

/// A performance read from text, with what was wrong with the events that were skipped.
#[derive(Clone, Debug, PartialEq)]
pub struct Read {
    pub performance: Performance,
    /// `"event N: …"` for each event skipped.
    pub errors: Vec<String>,
}

impl Performance {
    /// The performance as JSON text, one event per line. Non-finite parameter values (which JSON
    /// cannot hold) are written as the largest finite numbers, which clamp the same way; a NaN
    /// value, which the engine ignores, leaves its event out.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128 + 24 * self.events.len());
        let _ = write!(
            out,
            "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"sample_rate\":{},\"frames\":{},\"patch\":",
            self.sample_rate, self.frames
        );
        write_string(&mut out, &self.patch);
        out.push_str(",\"events\":[");
        let mut first = true;
        for e in &self.events {
            let body = match e.input {
                Input::NoteOn { pitch, velocity } => format!("\"on\",{pitch},{velocity}"),
                Input::NoteOff { pitch } => format!("\"off\",{pitch}"),
                Input::Sustain(down) => format!("\"sustain\",{}", u8::from(down)),
                Input::AllNotesOff => "\"panic\"".into(),
                Input::SetParam { value, .. } if value.is_nan() => continue,
                Input::SetParam { id, value } => {
                    format!(
                        "\"param\",\"{}\",{}",
                        id.spec().key,
                        value.clamp(f64::MIN, f64::MAX)
                    )
                }
                Input::Clock(ClockIn::SongPosition(p)) => format!("\"clock\",\"spp\",{p}"),
                Input::Clock(c) => format!("\"clock\",\"{}\"", clock_name(c)),
            };
            out.push_str(if first { "\n" } else { ",\n" });
            first = false;
            let _ = write!(out, "[{},{body}]", e.frame);
        }
        out.push_str("]}\n");
        out
    }

    /// Reads the text form. Errors for what makes the whole file unusable (not JSON, another
    /// format or version, a missing or out-of-range field); a bad event is only skipped and named
    /// in [`Read::errors`].
    pub fn parse(text: &str) -> Result<Read, String> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(format!(
                "performance file is {} bytes, more than the {MAX_TEXT_BYTES} read",
                text.len()
            ));
        }
        let value = json_header::parse_json(text.as_bytes()).map_err(|e| {
            if e.unsupported {
                format!("unreadable JSON at byte {}: {}", e.at, e.what)
            } else {
                format!("not valid JSON at byte {}: {}", e.at, e.what)
            }
        })?;
        let Value::Object(fields) = value else {
            return Err("a performance file is a JSON object".into());
        };
        let field = |key: &str| fields.get(key);
        match field("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            _ => {
                return Err(format!(
                    "not a performance file (\"format\" is not \"{FORMAT}\")"
                ))
            }
        }
        match field("version").and_then(Value::as_f64) {
            Some(v) if v == VERSION as f64 => {}
            Some(v) => {
                return Err(format!(
                    "performance version {v}: this build reads {VERSION}"
                ))
            }
            None => return Err("\"version\" is missing".into()),
        }
        let sample_rate = field("sample_rate")
            .and_then(Value::as_f64)
            .filter(|r| (8000.0..=384_000.0).contains(r))
            .ok_or("\"sample_rate\" must be a number from 8000 to 384000")?;
        let frames = field("frames")
            .and_then(Value::as_f64)
            .filter(|f| f.fract() == 0.0 && (0.0..=MAX_FRAMES as f64).contains(f))
            .ok_or(format!(
                "\"frames\" must be a whole number from 0 to {MAX_FRAMES}"
            ))? as u64;
        let Some(Value::String(patch)) = field("patch") else {
            return Err("\"patch\" (the patch text) is missing".into());
        };
        let Some(Value::Array(list)) = field("events") else {
            return Err("\"events\" (a list) is missing".into());
        };
        if list.len() > MAX_EVENTS {
            return Err(format!(
                "{} events, more than the {MAX_EVENTS} read",
                list.len()
            ));
        }
        let mut events = Vec::with_capacity(list.len());
        let mut errors = Vec::new();
        for (i, item) in list.iter().enumerate() {
            match event(item, frames) {
                Ok(e) => events.push(e),
                Err(why) => errors.push(format!("event {i}: {why}; skipped")),
            }
        }
        Ok(Read {
            performance: Performance {
                sample_rate,
                patch: patch.clone(),
                frames,
                events,
            },
            errors,
        })
    }
}

fn clock_name(c: ClockIn) -> &'static str {
    match c {
        ClockIn::Tick => "tick",
        ClockIn::Start => "start",
        ClockIn::Continue => "continue",
        ClockIn::Stop => "stop",
        ClockIn::SongPosition(_) => "spp",
    }
}

/// One `[frame, kind, …]` event, checked against the performance's length.
fn event(item: &Value, frames: u64) -> Result<InputEvent, String> {
    let Value::Array(parts) = item else {
        return Err("not a list [frame, kind, …]".into());
    };
    let frame = match parts.first().and_then(Value::as_f64) {
        Some(f) if f.fract() == 0.0 && f >= 0.0 && f <= frames as f64 => f as u64,
        Some(f) => {
            return Err(format!(
                "frame {f} is not a whole number from 0 to {frames}"
            ))
        }
        None => return Err("the first item is not a frame number".into()),
    };
    let kind = match parts.get(1) {
        Some(Value::String(k)) => k.as_str(),
        _ => return Err("the second item is not a kind (\"on\", \"off\", …)".into()),
    };
    let args = &parts[2..];
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "\"{kind}\" takes {n} values after the kind, not {}",
                args.len()
            ))
        }
    };
    // A whole number in `range` from the i-th value.
    let int = |i: usize, what: &str, max: f64| -> Result<u16, String> {
        match args[i].as_f64() {
            Some(v) if v.fract() == 0.0 && (0.0..=max).contains(&v) => Ok(v as u16),
            _ => Err(format!("{what} must be a whole number from 0 to {max}")),
        }
    };
    let input = match kind {
        "on" => {
            want(2)?;
            Input::NoteOn {
                pitch: int(0, "pitch", 127.0)? as u8,
                velocity: int(1, "velocity", 127.0)? as u8,
            }
        }
        "off" => {
            want(1)?;
            Input::NoteOff {
                pitch: int(0, "pitch", 127.0)? as u8,
            }
        }
        "sustain" => {
            want(1)?;
            Input::Sustain(int(0, "sustain", 1.0)? == 1)
        }
        "panic" => {
            want(0)?;
            Input::AllNotesOff
        }
        "param" => {
            want(2)?;
            let id = match &args[0] {
                Value::String(key) => {
                    ParamId::from_key(key).ok_or(format!("unknown parameter \"{key}\""))?
                }
                _ => return Err("the parameter is not a key like \"syn.cut\"".into()),
            };
            let value = args[1]
                .as_f64()
                .ok_or("the parameter value is not a number")?;
            Input::SetParam { id, value }
        }
        "clock" => {
            let clock = match args.first() {
                Some(Value::String(c)) => c.as_str(),
                _ => return Err("a clock event names its message (\"tick\", \"spp\", …)".into()),
            };
            let clock = match clock {
                "tick" => ClockIn::Tick,
                "start" => ClockIn::Start,
                "continue" => ClockIn::Continue,
                "stop" => ClockIn::Stop,
                "spp" => {
                    if args.len() != 2 {
                        return Err("\"spp\" takes one position (sixteenths)".into());
                    }
                    ClockIn::SongPosition(int(1, "the song position", 16383.0)?)
                }
                other => return Err(format!("unknown clock message \"{other}\"")),
            };
            if !matches!(clock, ClockIn::SongPosition(_)) {
                want(1)?;
            }
            Input::Clock(clock)
        }
        other => return Err(format!("unknown kind \"{other}\"")),
    };
    Ok(InputEvent { frame, input })
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(frame: u64, input: Input) -> InputEvent {
        InputEvent { frame, input }
    }

    fn every_variant() -> Performance {
        Performance {
            sample_rate: 44100.0,
            patch: "tp1&bpm=97&arp.mode=off".into(),
            frames: 10_000,
            events: vec![
                at(
                    0,
                    Input::NoteOn {
                        pitch: 60,
                        velocity: 100,
                    },
                ),
                at(5, Input::NoteOff { pitch: 60 }),
                at(6, Input::Sustain(true)),
                at(7, Input::Sustain(false)),
                at(8, Input::AllNotesOff),
                at(
                    9,
                    Input::SetParam {
                        id: ParamId::SynthCutoff,
                        value: 912.345678901,
                    },
                ),
                at(
                    9,
                    Input::SetParam {
                        id: ParamId::Tempo,
                        value: 133.5,
                    },
                ),
                at(10, Input::Clock(ClockIn::Tick)),
                at(11, Input::Clock(ClockIn::Start)),
                at(12, Input::Clock(ClockIn::Continue)),
                at(13, Input::Clock(ClockIn::Stop)),
                at(14, Input::Clock(ClockIn::SongPosition(16383))),
                at(10_000, Input::NoteOff { pitch: 127 }),
            ],
        }
    }

    #[test]
    fn every_input_round_trips_exactly() {
        let p = every_variant();
        let read = Performance::parse(&p.to_json()).unwrap();
        assert_eq!(read.errors, Vec::<String>::new());
        assert_eq!(read.performance, p);
    }

    #[test]
    fn bad_events_are_named_and_skipped_the_rest_kept() {
        let text = r#"{"format":"tidepool-performance","version":1,"sample_rate":48000,
            "frames":100,"patch":"tp1&syn.cut=\u0031000","events":[
            [0,"on",60,100],[1,"on",128,100],[2,"off"],[3,"param","nope",1],[4,"clock","spp"],
            [101,"off",60],[5.5,"panic"],"x",[6,"jump"],[7,"sustain",1],[8,"clock","tick",3]]}"#;
        let read = Performance::parse(text).unwrap();
        let p = read.performance;
        assert_eq!(p.patch, "tp1&syn.cut=1000");
        assert_eq!(
            p.events,
            [
                at(
                    0,
                    Input::NoteOn {
                        pitch: 60,
                        velocity: 100
                    }
                ),
                at(7, Input::Sustain(true)),
            ]
        );
        let indices: Vec<&str> = read
            .errors
            .iter()
            .map(|e| e.split(':').next().unwrap())
            .collect();
        assert_eq!(
            indices,
            [
                "event 1", "event 2", "event 3", "event 4", "event 5", "event 6", "event 7",
                "event 8", "event 10"
            ]
        );
        assert!(
            read.errors[2].contains("unknown parameter \"nope\""),
            "{:?}",
            read.errors
        );
        assert!(
            read.errors[4].contains("from 0 to 100"),
            "{:?}",
            read.errors
        );
    }

    #[test]
    fn unusable_files_are_refused_with_a_reason() {
        let good = every_variant().to_json();
        let cases = [
            ("[1,2]", "JSON object"),
            ("{\"format\":\"x\"}", "not a performance file"),
            (&good.replace("\"version\":1", "\"version\":2"), "version 2"),
            (&good.replace("44100", "100"), "sample_rate"),
            (&good.replace("\"frames\":10000", "\"frames\":-1"), "frames"),
            (&good[..good.len() - 5], "not valid JSON"),
            (&format!("{good} x"), "after the JSON"),
            (
                &"[".repeat(100),
                "unreadable JSON at byte 16: nesting deeper than 16",
            ),
            (
                &good.replace("\"patch\"", "\"frames\":1,\"patch\""),
                "duplicate key `frames`",
            ),
        ];
        for (text, want) in cases {
            let err = Performance::parse(text).unwrap_err();
            assert!(err.contains(want), "{text:.60}: {err}");
        }
        let huge = " ".repeat(MAX_TEXT_BYTES + 1);
        assert!(Performance::parse(&huge).unwrap_err().contains("more than"));
    }

    #[test]
    fn numbers_as_javascript_writes_them() {
        let text = r#"{"format":"tidepool-performance","version":1,"sample_rate":4.41e4,
            "frames":1E3,"patch":"","events":[[0,"param","syn.cut",1e+21],
            [1,"param","syn.cut",-0.5],[2,"param","syn.cut",2.5E-3],[3,"param","syn.cut",1e999]]}"#;
        let err = Performance::parse(text).unwrap_err();
        assert!(
            err.ends_with("`1e999` is beyond a 64-bit float's range"),
            "{err}"
        );
        let read =
            Performance::parse(&text.replace(",[3,\"param\",\"syn.cut\",1e999]", "")).unwrap();
        let values: Vec<f64> = read
            .performance
            .events
            .iter()
            .map(|e| match e.input {
                Input::SetParam { value, .. } => value,
                _ => f64::NAN,
            })
            .collect();
        assert_eq!(values, [1e21, -0.5, 2.5e-3]);
        assert_eq!(
            (read.performance.sample_rate, read.performance.frames),
            (44100.0, 1000)
        );
    }

    #[test]
    fn at_most_max_events_are_read() {
        let mut text = String::from(
            r#"{"format":"tidepool-performance","version":1,"sample_rate":48000,"frames":0,"patch":"","events":["#,
        );
        text.push_str(&"[0,\"panic\"],".repeat(MAX_EVENTS));
        text.push_str("[0,\"panic\"]]}");
        let err = Performance::parse(&text).unwrap_err();
        assert!(err.contains("more than the 2000000"), "{err}");
    }

    #[test]
    fn non_finite_values_are_written_as_json_can_hold_them() {
        let mut p = every_variant();
        p.events = vec![
            at(
                1,
                Input::SetParam {
                    id: ParamId::SynthCutoff,
                    value: f64::INFINITY,
                },
            ),
            at(
                2,
                Input::SetParam {
                    id: ParamId::SynthCutoff,
                    value: f64::NAN,
                },
            ),
        ];
        let read = Performance::parse(&p.to_json()).unwrap();
        assert!(read.errors.is_empty(), "{:?}", read.errors);
        assert_eq!(
            read.performance.events,
            [at(
                1,
                Input::SetParam {
                    id: ParamId::SynthCutoff,
                    value: f64::MAX
                }
            )]
        );
    }
}
