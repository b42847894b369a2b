//! The chorale token files (`data/chorales/*.tokens`) and the tokenisation rules behind them.
//!
//! One line per voice: `piece_id voice key_tonic mode transpose bar phase|tok tok …`, tokens
//! already transposed to C major / A minor (`transpose` semitones from the original key); `bar`
//! is the 16ths in a bar, `phase` the 16th within the bar of the first token (0 = downbeat).

use crate::tokens::{self, Token, HOLD, NOTE_OFF};

/// One voice of one chorale.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub piece: String,
    pub voice: String,
    /// Tonic pitch class (0 = C) of the original key.
    pub tonic: u8,
    pub minor: bool,
    /// Semitones added to reach C major / A minor.
    pub transpose: i8,
    /// 16ths in a bar (16 in 4/4, 12 in 3/4).
    pub bar: u8,
    /// The 16th within the bar of the first token (0 = the downbeat).
    pub phase: u8,
    pub tokens: Vec<Token>,
}

impl Line {
    /// The 16th within the bar of token `i`.
    pub fn position(&self, i: usize) -> u8 {
        ((self.phase as usize + i) % self.bar.max(1) as usize) as u8
    }
}

/// The token lines of split `name` (`train`, `valid`, `test`) in the directory `dir`
/// (`data/chorales`); an error names the file and what is wrong with it.
pub fn read_split(dir: &std::path::Path, name: &str) -> Result<Vec<Vec<Token>>, String> {
    Ok(read_lines(dir, name)?
        .into_iter()
        .map(|l| l.tokens)
        .collect())
}

/// The lines of split `name` with their headers (key, meter); errors as [`read_split`]'s.
pub fn read_lines(dir: &std::path::Path, name: &str) -> Result<Vec<Line>, String> {
    let path = dir.join(format!("{name}.tokens"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Parses a `.tokens` file; an error names the line and what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<Line>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

fn parse_line(line: &str) -> Result<Line, String> {
    let (head, toks) = line
        .split_once('|')
        .ok_or("no `|` between header and tokens")?;
    let fields: Vec<&str> = head.split_whitespace().collect();
    let [piece, voice, tonic, mode, transpose, bar, phase] = fields[..] else {
        return Err(format!(
            "header needs 7 fields (piece voice tonic mode transpose bar phase), has {}",
            fields.len()
        ));
    };
    let bar: u8 = bar
        .parse()
        .ok()
        .filter(|b| (1..=64).contains(b))
        .ok_or("bar is not 1–64 sixteenths")?;
    let phase: u8 = phase
        .parse()
        .ok()
        .filter(|p| *p < bar)
        .ok_or("phase is not a 16th within the bar")?;
    let tonic: u8 = tonic
        .parse()
        .ok()
        .filter(|t| *t < 12)
        .ok_or("key tonic is not 0–11")?;
    let minor = match mode {
        "major" => false,
        "minor" => true,
        other => return Err(format!("mode `{other}` is not major or minor")),
    };
    let transpose: i8 = transpose
        .parse()
        .map_err(|_| "transpose is not a whole number")?;
    Ok(Line {
        piece: piece.into(),
        voice: voice.into(),
        tonic,
        minor,
        transpose,
        bar,
        phase,
        tokens: tokens::parse(toks)?,
    })
}

/// A notated note (or rest) of a voice, in quarter lengths from the part's start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SourceNote {
    pub offset: f64,
    pub duration: f64,
    /// None for a rest.
    pub midi: Option<u8>,
    /// This note continues a tie (a tie stop or continue): it sounds on, no new onset.
    pub tied_from_previous: bool,
}

/// The tokenisation rules: four steps per quarter; an onset is its (transposed) pitch and its
/// further steps are HOLD; a tied continuation is all HOLD; a rest (or a gap) is one NOTE_OFF
/// then HOLDs, and silence after silence stays HOLD; leading and trailing silence is dropped;
/// one NOTE_OFF ends the line.
pub fn tokenize(notes: &[SourceNote], transpose: i8) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut silent = false;
    let mut sounding_end = 0;
    for n in notes {
        let start = (n.offset * 4.0).round() as usize;
        let end = ((n.offset + n.duration) * 4.0).round() as usize;
        if out.is_empty() && n.midi.is_none() {
            continue;
        }
        if !out.is_empty() && start > out.len() {
            let gap = start - out.len();
            push_silence(&mut out, &mut silent, gap);
        }
        let steps = end.saturating_sub(start);
        if steps == 0 {
            continue;
        }
        match n.midi {
            None => push_silence(&mut out, &mut silent, steps),
            Some(p) => {
                let onset = if n.tied_from_previous && !out.is_empty() {
                    HOLD
                } else {
                    (p as i16 + transpose as i16).clamp(0, 127) as Token
                };
                out.push(onset);
                out.extend(std::iter::repeat_n(HOLD, steps - 1));
                silent = false;
                sounding_end = out.len();
            }
        }
    }
    out.truncate(sounding_end);
    out.push(NOTE_OFF);
    out
}

fn push_silence(out: &mut Vec<Token>, silent: &mut bool, steps: usize) {
    out.push(if *silent { HOLD } else { NOTE_OFF });
    out.extend(std::iter::repeat_n(HOLD, steps - 1));
    *silent = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(file: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/../../data/chorales/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// bwv282's soprano: notated notes in, the exact tokens the extractor wrote out.
    #[test]
    fn tokenises_a_known_chorale_exactly() {
        let example: serde_json::Value = serde_json::from_str(&data("example.json")).unwrap();
        let notes: Vec<SourceNote> = example["source_notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| SourceNote {
                offset: n["offset"].as_f64().unwrap(),
                duration: n["duration"].as_f64().unwrap(),
                midi: n["midi"].as_u64().map(|m| m as u8),
                tied_from_previous: matches!(n["tie"].as_str(), Some("stop" | "continue")),
            })
            .collect();
        let want: Vec<Token> = example["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as Token)
            .collect();
        let transpose = example["transpose"].as_i64().unwrap() as i8;
        assert_eq!(tokenize(&notes, transpose), want);
        let untransposed: Vec<Token> = example["tokens_untransposed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as Token)
            .collect();
        assert_eq!(tokenize(&notes, 0), untransposed);
        // …and the training file holds the same line.
        let train = parse(&data("train.tokens")).unwrap();
        let line = train
            .iter()
            .find(|l| l.piece == "bach/bwv282.mxl" && l.voice == "S")
            .unwrap();
        assert_eq!(line.tokens, want);
        assert_eq!((line.tonic, line.minor, line.transpose), (7, false, 5));
    }

    #[test]
    fn the_committed_splits_parse_and_never_share_a_piece() {
        let splits: Vec<Vec<Line>> = ["train", "valid", "test"]
            .iter()
            .map(|s| parse(&data(&format!("{s}.tokens"))).unwrap())
            .collect();
        let counts: Vec<usize> = splits
            .iter()
            .map(|s| s.iter().map(|l| l.tokens.len()).sum())
            .collect();
        assert_eq!(counts.iter().sum::<usize>(), 366_854);
        let pieces = |s: &[Line]| {
            s.iter()
                .map(|l| l.piece.clone())
                .collect::<std::collections::HashSet<_>>()
        };
        let (a, b, c) = (pieces(&splits[0]), pieces(&splits[1]), pieces(&splits[2]));
        assert!(a.is_disjoint(&b) && a.is_disjoint(&c) && b.is_disjoint(&c));
        for line in splits.iter().flatten() {
            assert_eq!(line.tokens.last(), Some(&NOTE_OFF), "{}", line.piece);
            assert!(line.tokens[0] < NOTE_OFF, "starts with a note");
        }
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse("a S 5 major -5 16 12|60 128\nb S 13 major 0 16 0|60")
            .unwrap_err()
            .starts_with("line 2"));
        assert!(parse("a S 5 dorian 0 16 0|60")
            .unwrap_err()
            .contains("dorian"));
        assert!(parse("a S 5 major 0 16 0 60").is_err());
        assert!(parse("a S 5 major 0|60").unwrap_err().contains("7 fields"));
        assert!(parse("a S 5 major 0 12 12|60")
            .unwrap_err()
            .contains("phase"));
        assert!(parse("a S 5 major 0 0 0|60").unwrap_err().contains("bar"));
    }

    #[test]
    fn positions_wrap_at_the_bar() {
        let l = &parse("a S 5 major 0 12 10|60 129 129 62").unwrap()[0];
        assert_eq!(
            (0..4).map(|i| l.position(i)).collect::<Vec<_>>(),
            [10, 11, 0, 1]
        );
    }

    /// Most 4/4 lines start on the pickup beat (phase 12): the chorales' usual one-beat upbeat.
    #[test]
    fn the_corpus_meter_is_mostly_four_four_with_a_pickup() {
        let text = data("train.tokens");
        let lines = parse(&text).unwrap();
        let pickup = lines
            .iter()
            .filter(|l| l.bar == 16 && l.phase == 12)
            .count();
        assert!(pickup * 2 > lines.len(), "{pickup} of {}", lines.len());
    }
}
