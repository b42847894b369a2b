//! The patch text codec: one compact, versioned, human-readable form for URLs, files and the CLI.
//!
//! `tp1&bpm=120&lfo.sr=1.1&arp.div=1/16&…` — a version tag, then `key=value` fields joined by `&`,
//! every parameter that shapes the sound written (so a link keeps its sound when defaults
//! change; the MIDI connection settings only when set), choices by name,
//! numbers in Rust's shortest round-trip form; the rhythm tracks' fields and models
//! (`rh1.x=…&rh1.model=model1`, a trained model embedded as `rh1.model=~<base64url>`) only when
//! the rhythm section differs from its defaults; the Markov chain's learned table when it learned
//! something (`mk.table=<base64url>`, see [`crate::learned`]); then the MIDI learn bindings when
//! there are some
//! (`&bind.syn.cut=cc74`, see [`crate::bindings`]). It is also valid as a URL fragment as is.
//! Parsing is forgiving and untrusting: a bad field is reported by name and skipped, the good
//! fields are kept, input size is bounded.

use crate::bindings::{Bindings, BIND_PREFIX};
use crate::learned::{check_text, MARKOV_TABLE_KEY};
use crate::params::{written_only_when_set, Group, Kind, ParamId, ParamValues, PARAM_COUNT};
use crate::rhythm::{model_key, track_of_model_key, ModelRef, TrackModels, TRACKS};
use std::fmt;

/// The version tag written first; parsing accepts text without it (with a note).
pub const VERSION_TAG: &str = "tp1";
/// Text beyond this many bytes is ignored (a shared link is untrusted input). Room for three
/// embedded rhythm decoders (about 2.2 KB each) besides every parameter.
pub const MAX_PATCH_BYTES: usize = 16384;
const MAX_FIELDS: usize = 512;

/// A whole patch: every parameter, seeds included, the rhythm tracks' models and what the
/// Markov chain learned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Patch {
    pub values: ParamValues,
    pub models: TrackModels,
    /// The Markov chain's learned table as base64url text (checked when parsed); None: nothing
    /// learned.
    pub markov: Option<String>,
}

/// What was wrong with one field of a patch text, and what was kept instead.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchError {
    /// The field's key (or a description of the position when there is no key).
    pub field: String,
    pub message: String,
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A parsed patch and the problems met on the way (empty when the text was clean).
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub patch: Patch,
    /// The MIDI learn bindings the text carried (the engine never needs them: the page does).
    pub bindings: Bindings,
    pub errors: Vec<PatchError>,
}

impl Parsed {
    /// The canonical text of the patch and its bindings.
    pub fn text(&self) -> String {
        self.patch.text_with(&self.bindings)
    }
}

impl Patch {
    /// The text form of every parameter (the connection settings only when not at their default).
    pub fn to_text(&self) -> String {
        self.text_with(&Bindings::default())
    }

    /// As [`Patch::to_text`], with one `bind.` field per binding after the parameters.
    pub fn text_with(&self, bindings: &Bindings) -> String {
        let mut out = String::from(VERSION_TAG);
        let rhythm = self.rhythm_set();
        for id in ParamId::all() {
            let value = self.values.get(*id);
            if written_only_when_set(*id) && value == id.spec().default {
                continue;
            }
            if id.spec().group == Group::Rhythm && !rhythm {
                continue;
            }
            out.push('&');
            out.push_str(id.spec().key);
            out.push('=');
            out.push_str(&format_value(*id, value));
        }
        if rhythm {
            for (track, model) in self.models.0.iter().enumerate() {
                out.push('&');
                out.push_str(&model_key(track));
                out.push('=');
                out.push_str(&model.text());
            }
        }
        if let Some(table) = &self.markov {
            out.push('&');
            out.push_str(MARKOV_TABLE_KEY);
            out.push('=');
            out.push_str(table);
        }
        bindings.write(&mut out);
        out
    }

    /// Whether the rhythm section differs from its defaults (then it is written whole: a link
    /// without it plays the defaults, as links made before the rhythm tracks existed do).
    fn rhythm_set(&self) -> bool {
        self.models != TrackModels::default()
            || ParamId::all().iter().any(|id| {
                id.spec().group == Group::Rhythm && self.values.get(*id) != id.spec().default
            })
    }

    /// Parses patch text, a URL fragment (`#tp1&…`) or a whole URL. Fields that are missing keep
    /// their defaults; each bad field is reported and skipped.
    pub fn parse(text: &str) -> Parsed {
        Self::parse_onto(Patch::default(), text)
    }

    /// As [`Patch::parse`], but fields not in the text keep `base`'s values.
    pub fn parse_onto(base: Patch, text: &str) -> Parsed {
        let mut patch = base;
        let mut bindings = Bindings::default();
        let mut errors = Vec::new();
        let mut text = text.trim();
        if text.len() > MAX_PATCH_BYTES {
            let mut cut = MAX_PATCH_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            errors.push(err(
                "patch",
                format!("longer than {MAX_PATCH_BYTES} bytes; the rest was ignored"),
            ));
            text = &text[..cut];
        }
        if let Some(hash) = text.find('#') {
            text = &text[hash + 1..];
        }
        let mut fields = text
            .split(['&', ';', '\n'])
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .peekable();
        match fields.peek() {
            Some(&VERSION_TAG) => {
                fields.next();
            }
            Some(first) if !first.contains('=') => {
                errors.push(err(
                    "version",
                    format!(
                        "unknown version `{}`; read the fields as {VERSION_TAG}",
                        clip(first)
                    ),
                ));
                fields.next();
            }
            _ => {}
        }
        let mut seen = [false; PARAM_COUNT];
        for (count, field) in fields.enumerate() {
            if count == MAX_FIELDS {
                errors.push(err(
                    "patch",
                    format!("more than {MAX_FIELDS} fields; the rest was ignored"),
                ));
                break;
            }
            let key = field.split('=').next().map(|k| percent_decode(k.trim()));
            if let Some(id) = key.as_deref().and_then(ParamId::from_key) {
                if std::mem::replace(&mut seen[id.index()], true) {
                    errors.push(err(
                        id.spec().key,
                        "given more than once; the last value counts".into(),
                    ));
                }
            }
            if let Err(mut e) = apply_field(&mut patch, &mut bindings, field) {
                if e.field.trim().is_empty() {
                    // `=5` or a key of spaces: name the field by its position instead.
                    e.field = format!("field {}", count + 1);
                }
                errors.push(e);
            }
        }
        Parsed {
            patch,
            bindings,
            errors,
        }
    }
}

fn apply_field(patch: &mut Patch, bindings: &mut Bindings, field: &str) -> Result<(), PatchError> {
    let Some((key, raw)) = field.split_once('=') else {
        return Err(err(clip(field), "not a key=value field; ignored".into()));
    };
    let key = percent_decode(key.trim());
    let raw = percent_decode(raw.trim());
    if let Some(param) = key.strip_prefix(BIND_PREFIX) {
        return bindings.apply_field(param, &raw);
    }
    if let Some(track) = track_of_model_key(&key) {
        return apply_model(&mut patch.models, track, &key, &raw);
    }
    if key == MARKOV_TABLE_KEY {
        return apply_markov(&mut patch.markov, &raw);
    }
    let values = &mut patch.values;
    let Some(id) = ParamId::from_key(&key) else {
        return Err(err(clip(&key), "unknown field; ignored".into()));
    };
    let spec = id.spec();
    let kept = format_value(id, values.get(id));
    let value = parse_value(id, &raw).ok_or_else(|| {
        let expected = match spec.kind {
            Kind::Choice(names) => format!("one of {}", names.join(", ")),
            Kind::Toggle => "0 or 1".to_string(),
            _ => format!("a number from {} to {}", spec.min(), spec.max()),
        };
        err(
            spec.key,
            format!("`{}` is not {expected}; kept {kept}", clip(&raw)),
        )
    })?;
    let set = values.set(id, value);
    if set != value {
        return Err(err(
            spec.key,
            format!(
                "{} is outside {}..{}; using {}",
                clip(&raw),
                spec.min(),
                spec.max(),
                format_value(id, set)
            ),
        ));
    }
    Ok(())
}

/// A rhythm track's model field: a built-in's name or an embedded decoder, checked by reading it.
fn apply_model(
    models: &mut TrackModels,
    track: usize,
    key: &str,
    raw: &str,
) -> Result<(), PatchError> {
    debug_assert!(track < TRACKS);
    match ModelRef::parse(raw) {
        Ok((model, _)) => {
            models.0[track] = model;
            Ok(())
        }
        Err(why) => {
            let kept = match &models.0[track] {
                ModelRef::Builtin(_) => models.0[track].text(),
                ModelRef::Embedded(_) => "the embedded model before it".to_string(),
            };
            Err(err(key, format!("`{}`: {why}; kept {kept}", clip(raw))))
        }
    }
}

/// The Markov chain's learned table: checked by reading it; a bad one keeps what was there.
fn apply_markov(markov: &mut Option<String>, raw: &str) -> Result<(), PatchError> {
    if raw.is_empty() {
        // `mk.table=`: nothing learned.
        *markov = None;
        return Ok(());
    }
    match check_text(raw) {
        Ok(()) => {
            *markov = Some(raw.to_string());
            Ok(())
        }
        Err(why) => {
            let kept = match markov {
                Some(_) => "the table before it",
                None => "an empty chain",
            };
            Err(err(
                MARKOV_TABLE_KEY,
                format!("`{}`: {why}; kept {kept}", clip(raw)),
            ))
        }
    }
}

fn parse_value(id: ParamId, raw: &str) -> Option<f64> {
    let spec = id.spec();
    if let Kind::Choice(names) = spec.kind {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(raw)) {
            return Some(i as f64);
        }
    }
    if let Kind::Toggle = spec.kind {
        match raw {
            "on" | "true" => return Some(1.0),
            "off" | "false" => return Some(0.0),
            _ => {}
        }
    }
    let v: f64 = raw.parse().ok()?;
    // Choice fields may also be given by index; anything non-finite is refused, not clamped.
    v.is_finite().then_some(v)
}

/// The text of one value: the choice name, or the shortest form that parses back to it exactly.
pub fn format_value(id: ParamId, value: f64) -> String {
    match id.spec().kind {
        Kind::Choice(names) => names
            .get(value as usize)
            .copied()
            .unwrap_or(names[0])
            .to_string(),
        _ => format!("{value}"),
    }
}

fn err(field: &str, message: String) -> PatchError {
    PatchError {
        field: field.to_string(),
        message,
    }
}

/// At most 40 characters of untrusted text, for messages.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Decodes `%XX` escapes (what browsers do to some characters of a fragment); bad escapes stay.
fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Display for Patch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_patch_round_trips_and_is_compact() {
        let text = Patch::default().to_text();
        assert!(text.starts_with("tp1&bpm=120&"), "{text}");
        assert!(text.len() < 1000, "{} chars", text.len());
        let parsed = Patch::parse(&text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.patch, Patch::default());
    }

    #[test]
    fn connection_settings_are_written_only_when_set() {
        let mut patch = Patch::default();
        assert!(!patch.to_text().contains("clock.out"));
        patch.values.set(ParamId::ClockOut, 1.0);
        patch.values.set(ParamId::LfoCc2, 74.0);
        let text = patch.to_text();
        assert!(
            text.contains("&clock.out=1") && text.contains("&lfo.cc2=74"),
            "{text}"
        );
        assert_eq!(Patch::parse(&text).patch, patch);
    }

    #[test]
    fn every_value_round_trips_exactly() {
        let mut p = Patch::default();
        for (i, id) in ParamId::all().iter().enumerate() {
            let spec = id.spec();
            let t = (i as f64 * 0.618_033_988_75).fract();
            p.values
                .set(*id, spec.min() + t * (spec.max() - spec.min()));
        }
        let back = Patch::parse(&p.to_text());
        assert!(back.errors.is_empty(), "{:?}", back.errors);
        assert_eq!(back.patch, p);
    }

    #[test]
    fn accepts_urls_fragments_and_percent_escapes() {
        let url = "http://127.0.0.1:8000/index.html#tp1&bpm=97.5&arp.div=1%2F8t&lfo.smooth=off";
        let parsed = Patch::parse(url);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.patch.values.get(ParamId::Tempo), 97.5);
        assert_eq!(
            format_value(
                ParamId::ArpDivision,
                parsed.patch.values.get(ParamId::ArpDivision)
            ),
            "1/8t"
        );
        assert_eq!(parsed.patch.values.get(ParamId::LfoSmoothing), 0.0);
        assert_eq!(
            parsed.patch.values.get(ParamId::LfoNeurons),
            300.0,
            "missing fields keep defaults"
        );
    }

    #[test]
    fn bad_fields_are_named_and_good_ones_kept() {
        let parsed = Patch::parse(
            "tp1&bpm=fast&lfo.sr=1.5&nope=3&arp.mode=sideways&syn.cut=1e9&junk&arp.oct=2",
        );
        let fields: Vec<&str> = parsed.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["bpm", "nope", "arp.mode", "syn.cut", "junk"]);
        let v = &parsed.patch.values;
        assert_eq!(v.get(ParamId::Tempo), 120.0);
        assert_eq!(v.get(ParamId::LfoSpectralRadius), 1.5);
        assert_eq!(v.get(ParamId::SynthCutoff), 18000.0);
        assert_eq!(v.get(ParamId::ArpOctaves), 2.0);
        assert!(
            parsed.errors[0].to_string().contains("kept 120"),
            "{}",
            parsed.errors[0]
        );
        assert!(
            parsed.errors[2].message.contains("reservoir"),
            "lists the choices"
        );
    }

    #[test]
    fn unknown_version_and_oversized_text_are_reported() {
        let parsed = Patch::parse("tp9&bpm=100");
        assert_eq!(parsed.errors[0].field, "version");
        assert_eq!(parsed.patch.values.get(ParamId::Tempo), 100.0);
        let huge = format!("tp1&bpm=90&{}", "x".repeat(MAX_PATCH_BYTES * 2));
        let parsed = Patch::parse(&huge);
        assert_eq!(parsed.patch.values.get(ParamId::Tempo), 90.0);
        assert!(parsed
            .errors
            .iter()
            .any(|e| e.message.contains("longer than")));
    }

    #[test]
    fn a_repeated_field_is_reported_and_the_last_one_counts() {
        let parsed = Patch::parse("tp1&bpm=90&bpm=100");
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].field, "bpm");
        assert_eq!(parsed.patch.values.get(ParamId::Tempo), 100.0);
    }

    #[test]
    fn a_field_without_a_key_is_named_by_its_position() {
        let parsed = Patch::parse("tp1&bpm=90&=3");
        assert_eq!(parsed.errors[0].field, "field 2");
        assert_eq!(parsed.patch.values.get(ParamId::Tempo), 90.0);
    }

    #[test]
    fn bindings_travel_after_the_parameters_and_round_trip() {
        let text = format!(
            "{}&bind.lfo.sr=CC21:ch2:14:soft&bind.syn.cut=cc74&bind.arp.beta=bend:ch1",
            Patch::default().to_text()
        );
        let parsed = Patch::parse(&text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.patch, Patch::default(), "bindings move no knob");
        assert_eq!(parsed.bindings.len(), 3);
        let canonical = parsed.text();
        // After every parameter, in table order.
        let tail = "&bind.lfo.sr=cc21:14:ch2:soft&bind.arp.beta=bend:ch1&bind.syn.cut=cc74";
        assert_eq!(canonical, format!("{}{tail}", Patch::default().to_text()));
        assert!(!Patch::default().to_text().contains("bind."));
        let again = Patch::parse(&canonical);
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!(again.bindings, parsed.bindings);
        assert_eq!(again.text(), canonical);
    }

    #[test]
    fn a_bad_binding_is_named_and_the_rest_still_applies() {
        let parsed = Patch::parse(
            "tp1&bpm=90&bind.syn.cut=cc64&bind.nope=cc1&bind.syn.res=cc71:ch99&arp.oct=3",
        );
        let fields: Vec<&str> = parsed.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["bind.syn.cut", "bind.nope", "bind.syn.res"]);
        assert!(
            parsed.errors[0].message.contains("sustain"),
            "{}",
            parsed.errors[0]
        );
        assert!(
            parsed.errors[2].message.contains("kept cc71"),
            "{}",
            parsed.errors[2]
        );
        assert_eq!(parsed.patch.values.get(ParamId::Tempo), 90.0);
        assert_eq!(parsed.patch.values.get(ParamId::ArpOctaves), 3.0);
        assert_eq!(parsed.bindings.len(), 1);
        assert!(parsed.text().ends_with("&bind.syn.res=cc71"));
    }

    #[test]
    fn infinities_and_nan_are_refused_not_clamped() {
        let parsed = Patch::parse("bpm=inf&lfo.sr=NaN");
        assert_eq!(parsed.errors.len(), 2);
        assert_eq!(parsed.patch, Patch::default());
    }
}
