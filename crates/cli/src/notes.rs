//! Note names and the timed score syntax of `tidepool render`.

use tidepool_engine::{Input, InputEvent};

/// "C4" = 60, "F#3", "Eb5", "c-1" = 0, or a MIDI number "61".
pub fn parse_note(s: &str) -> Result<u8, String> {
    if let Ok(n) = s.parse::<u8>() {
        return if n < 128 {
            Ok(n)
        } else {
            Err(format!("note number {n} is above 127"))
        };
    }
    let mut chars = s.chars();
    let letter = chars.next().ok_or("empty note name")?;
    let base: i32 = match letter.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return Err(format!("`{s}` is not a note name (like C4, F#3, Eb5)")),
    };
    let rest: String = chars.collect();
    let (shift, octave) = match rest.strip_prefix(['#', '♯']) {
        Some(o) => (1, o),
        None => match rest.strip_prefix(['b', '♭']) {
            Some(o) => (-1, o),
            None => (0, rest.as_str()),
        },
    };
    let octave: i32 = octave
        .parse()
        .map_err(|_| format!("`{s}` has no octave number (like C4)"))?;
    let n = (octave + 1) * 12 + base + shift;
    u8::try_from(n)
        .ok()
        .filter(|n| *n < 128)
        .ok_or_else(|| format!("`{s}` is outside MIDI notes 0–127"))
}

/// `--notes "C4 E4 G4"`: held from frame 0 to `end`.
pub fn held(spec: &str, end: u64) -> Result<Vec<InputEvent>, String> {
    let pitches: Vec<u8> = spec
        .split_whitespace()
        .map(parse_note)
        .collect::<Result<_, _>>()?;
    Ok(tidepool_engine::render::held_notes(&pitches, end))
}

/// `--score "C4@0-2 E4/80@0.5-2.5"`: NOTE[/VELOCITY]@START-END in seconds.
pub fn score(spec: &str, sample_rate: f64) -> Result<Vec<InputEvent>, String> {
    let mut events = Vec::new();
    for item in spec.split_whitespace() {
        let bad =
            || format!("`{item}` is not NOTE[/VELOCITY]@START-END (seconds), like C4/90@0.5-2");
        let (note, times) = item.split_once('@').ok_or_else(bad)?;
        let (name, velocity) = match note.split_once('/') {
            Some((n, v)) => (
                n,
                v.parse::<u8>()
                    .ok()
                    .filter(|v| (1..=127).contains(v))
                    .ok_or_else(bad)?,
            ),
            None => (note, 100),
        };
        let pitch = parse_note(name)?;
        let (start, end) = times.split_once('-').ok_or_else(bad)?;
        let start: f64 = start.parse().map_err(|_| bad())?;
        let end: f64 = end.parse().map_err(|_| bad())?;
        if !(start.is_finite() && end.is_finite() && 0.0 <= start && start < end) {
            return Err(bad());
        }
        let frame = |t: f64| (t * sample_rate).round() as u64;
        events.push(InputEvent {
            frame: frame(start),
            input: Input::NoteOn { pitch, velocity },
        });
        events.push(InputEvent {
            frame: frame(end),
            input: Input::NoteOff { pitch },
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse_note("C4"), Ok(60));
        assert_eq!(parse_note("A4"), Ok(69));
        assert_eq!(parse_note("F#3"), Ok(54));
        assert_eq!(parse_note("Eb5"), Ok(75));
        assert_eq!(parse_note("c-1"), Ok(0));
        assert_eq!(parse_note("G9"), Ok(127));
        assert_eq!(parse_note("64"), Ok(64));
        assert!(parse_note("H2").is_err());
        assert!(parse_note("G#9").is_err());
        assert!(parse_note("C").is_err());
    }

    #[test]
    fn timed_score() {
        let ev = score("C4/90@0.5-1 E4@0-2", 1000.0).unwrap();
        assert_eq!(
            ev[0],
            InputEvent {
                frame: 500,
                input: Input::NoteOn {
                    pitch: 60,
                    velocity: 90
                }
            }
        );
        assert_eq!(
            ev[1],
            InputEvent {
                frame: 1000,
                input: Input::NoteOff { pitch: 60 }
            }
        );
        assert_eq!(
            ev[2].input,
            Input::NoteOn {
                pitch: 64,
                velocity: 100
            }
        );
        assert!(score("C4@2-1", 1000.0).is_err());
        assert!(score("C4/0@0-1", 1000.0).is_err());
    }
}
