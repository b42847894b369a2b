//! MIDI learn bindings: which controller message moves which parameter, as patch-text fields.
//!
//! One field per bound parameter, written after the parameters and only when there are some:
//!
//! ```text
//! bind.<parameter key>=<source>[:14][:ch<1-16>][:soft]
//! bind.syn.cut=cc74    bind.lfo.sr=cc21:14:ch2:soft    bind.arp.beta=bend:ch1    bind.syn.res=pressure
//! ```
//!
//! The source is `cc0`–`cc127` (a 7-bit controller), with `:14` a 14-bit pair (CC 0–31 as the
//! most significant 7 bits, its partner CC n+32 as the least), `bend` (pitch bend, 14-bit) or
//! `pressure` (channel pressure, 7-bit); the mod wheel is `cc1` (`cc1:14` with CC33). `:chN`
//! listens on MIDI channel N only (absent: any channel); `:soft` takes the knob over only once
//! the controller reaches its value (pick-up; absent, or `:jump`: the knob jumps). Only `:`,
//! letters and digits are used, so the field reads the same in a URL fragment. The sustain
//! pedal (CC64) and the channel mode messages (CC120–127: all sound off, all notes off …) keep
//! their meaning and cannot be bound. The engine never sees bindings: the page turns controller
//! messages into parameter changes, as a mouse does.

use crate::params::ParamId;
use crate::patch::PatchError;
use std::fmt::Write;

/// The key prefix of a binding field.
pub const BIND_PREFIX: &str = "bind.";
/// At most this many parameters are bound (a patch link is untrusted input).
pub const MAX_BINDINGS: usize = 64;
const TOO_MANY: &str = "more than 64 bindings";

/// What a binding listens to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Control change `n`, 7-bit.
    Cc(u8),
    /// Control change `n` (0–31) with its partner `n + 32`: 14-bit.
    Cc14(u8),
    /// Pitch bend (14-bit).
    Bend,
    /// Channel pressure (aftertouch, 7-bit).
    Pressure,
}

/// The names [`Source::code`] indexes; the page uses the same order.
pub const SOURCE_NAMES: &[&str] = &["cc", "cc14", "bend", "pressure"];

impl Source {
    /// Its index in [`SOURCE_NAMES`] and its controller number (0 for bend and pressure).
    pub fn code(self) -> (usize, u8) {
        match self {
            Source::Cc(n) => (0, n),
            Source::Cc14(n) => (1, n),
            Source::Bend => (2, 0),
            Source::Pressure => (3, 0),
        }
    }

    /// The source of a [`Source::code`]; None for an unknown kind or a number out of range.
    pub fn from_code(kind: usize, number: u32) -> Option<Source> {
        let n = u8::try_from(number).ok().filter(|&n| n < 128)?;
        match kind {
            0 => Some(Source::Cc(n)),
            1 if n < 32 => Some(Source::Cc14(n)),
            2 => Some(Source::Bend),
            3 => Some(Source::Pressure),
            _ => None,
        }
    }

    /// Why this source cannot be bound: the controllers that keep their MIDI meaning.
    pub fn refused(self) -> Option<&'static str> {
        match self {
            Source::Cc(64) => Some("the sustain pedal"),
            Source::Cc(120..) => Some("a channel mode message (all sound off, all notes off …)"),
            _ => None,
        }
    }
}

/// One parameter moved by one controller message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    pub param: ParamId,
    pub source: Source,
    /// MIDI channel 1–16 it listens on; None: any channel.
    pub channel: Option<u8>,
    /// Soft takeover (pick-up) instead of a jump.
    pub soft: bool,
}

impl Binding {
    /// The field's value: `cc21:14:ch2:soft`.
    pub fn value_text(&self) -> String {
        let mut out = String::new();
        match self.source {
            Source::Cc(n) | Source::Cc14(n) => write!(out, "cc{n}").ok(),
            Source::Bend => out.write_str("bend").ok(),
            Source::Pressure => out.write_str("pressure").ok(),
        };
        if let Source::Cc14(_) = self.source {
            out.push_str(":14");
        }
        if let Some(ch) = self.channel {
            write!(out, ":ch{ch}").ok();
        }
        if self.soft {
            out.push_str(":soft");
        }
        out
    }

    /// Reads a field's value for `param` (letters in any case). Ok: the binding and, when an
    /// option was not understood (it is left out), what was wrong; Err: why nothing is bound.
    pub fn parse(param: ParamId, raw: &str) -> Result<(Binding, Option<String>), String> {
        let mut parts = raw.split(':');
        let first = parts.next().unwrap_or_default();
        let source = if same(first, "bend") {
            Source::Bend
        } else if same(first, "pressure") {
            Source::Pressure
        } else {
            match number_after(first, "cc") {
                Some(n @ 0..=127) => Source::Cc(n as u8),
                _ => {
                    return Err(format!(
                        "`{}` is not a source (cc0 to cc127, bend or pressure); not bound",
                        clip(first, 40)
                    ))
                }
            }
        };
        if let Some(why) = source.refused() {
            return Err(format!(
                "`{first}` is {why}: it keeps its meaning and cannot be bound; not bound"
            ));
        }
        let mut binding = Binding {
            param,
            source,
            channel: None,
            soft: false,
        };
        let mut problem = None;
        for option in parts {
            if same(option, "soft") {
                binding.soft = true;
            } else if same(option, "jump") {
                binding.soft = false;
            } else if option == "14" {
                match binding.source {
                    Source::Cc(n @ 0..=31) | Source::Cc14(n) => binding.source = Source::Cc14(n),
                    _ => problem = Some("14-bit pairs are CC 0 to 31 (with CC 32 to 63)"),
                }
            } else if let Some(ch @ 1..=16) = number_after(option, "ch") {
                binding.channel = Some(ch as u8);
            } else {
                problem = Some("options are 14, ch1 to ch16, soft and jump");
            }
        }
        let note = problem.map(|p| {
            let kept = binding.value_text();
            format!("{p} in `{}`; kept {kept}", clip(raw, 40))
        });
        Ok((binding, note))
    }
}

/// `a` and `b` are the same word, in any case. Not inlined: at opt-level 3 each comparison
/// would become its own vectorised loop, and this code is in the page's wasm, whose size counts.
#[inline(never)]
fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// The number after `prefix` (in any case) that is all of the rest of `s`: one to three digits.
#[inline(never)]
fn number_after(s: &str, prefix: &str) -> Option<u32> {
    let (head, digits) = (s.get(..prefix.len())?, s.get(prefix.len()..)?);
    if !same(head, prefix) || digits.is_empty() || digits.len() > 3 {
        return None;
    }
    digits.bytes().try_fold(0, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// The bindings of a patch: at most one per parameter, at most [`MAX_BINDINGS`], in table order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bindings(Vec<Binding>);

impl Bindings {
    pub fn iter(&self) -> impl Iterator<Item = &Binding> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, param: ParamId) -> Option<&Binding> {
        self.0.iter().find(|b| b.param == param)
    }

    /// Binds `binding.param`, replacing its binding if it had one (returned). Err: why not (a
    /// controller that keeps its meaning, or too many bindings).
    pub fn insert(&mut self, binding: Binding) -> Result<Option<Binding>, &'static str> {
        if binding.source.refused().is_some() {
            return Err("a controller that keeps its meaning cannot be bound");
        }
        let at = self
            .0
            .partition_point(|b| b.param.index() < binding.param.index());
        if self.0.get(at).is_some_and(|b| b.param == binding.param) {
            return Ok(Some(std::mem::replace(&mut self.0[at], binding)));
        }
        if self.0.len() == MAX_BINDINGS {
            return Err(TOO_MANY);
        }
        self.0.insert(at, binding);
        Ok(None)
    }

    /// Unbinds `param`; its binding if it had one.
    pub fn remove(&mut self, param: ParamId) -> Option<Binding> {
        let at = self.0.iter().position(|b| b.param == param)?;
        Some(self.0.remove(at))
    }

    /// Appends `&bind.key=value` for each binding.
    pub fn write(&self, out: &mut String) {
        for b in &self.0 {
            let (key, value) = (b.param.spec().key, b.value_text());
            write!(out, "&{BIND_PREFIX}{key}={value}").ok();
        }
    }

    /// Applies the field `bind.<key>=<raw>` (`key` without the prefix); Err says what was wrong
    /// and what was kept (the binding is applied when only an option was bad).
    pub fn apply_field(&mut self, key: &str, raw: &str) -> Result<(), PatchError> {
        let message = match ParamId::from_key(key) {
            None => format!("no parameter `{}` to bind; ignored", clip(key, 40)),
            Some(param) => match Binding::parse(param, raw) {
                Err(why) => why,
                Ok((binding, note)) => match self.insert(binding) {
                    Err(why) => format!("{why}; ignored"),
                    Ok(Some(_)) => "given more than once; the last one counts".into(),
                    Ok(None) => match note {
                        Some(note) => note,
                        None => return Ok(()),
                    },
                },
            },
        };
        Err(PatchError {
            // Within the 40 characters every error's name keeps to.
            field: BIND_PREFIX.to_string() + clip(key, 40 - BIND_PREFIX.len()),
            message,
        })
    }
}

/// At most `n` characters of untrusted text, for messages.
fn clip(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(param: ParamId, raw: &str) -> (Result<(), PatchError>, Bindings) {
        let mut b = Bindings::default();
        let r = b.apply_field(param.spec().key, raw);
        (r, b)
    }

    #[test]
    fn every_form_round_trips() {
        let cases = [
            ("cc74", Source::Cc(74), None, false),
            ("cc21:14:ch2:soft", Source::Cc14(21), Some(2), true),
            ("bend", Source::Bend, None, false),
            ("pressure:ch16", Source::Pressure, Some(16), false),
            ("cc0:soft", Source::Cc(0), None, true),
            ("cc1:14", Source::Cc14(1), None, false),
            ("cc119:ch1", Source::Cc(119), Some(1), false),
        ];
        for (text, source, channel, soft) in cases {
            let (binding, note) = Binding::parse(ParamId::SynthCutoff, text)
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(note, None, "{text}");
            assert_eq!(
                binding,
                Binding {
                    param: ParamId::SynthCutoff,
                    source,
                    channel,
                    soft
                }
            );
            assert_eq!(binding.value_text(), text);
        }
    }

    #[test]
    fn forgiving_spellings_read_as_the_canonical_form() {
        for (given, canonical) in [
            ("CC74:Soft", "cc74:soft"),
            ("cc21:ch2:14", "cc21:14:ch2"),
            ("cc5:soft:jump", "cc5"),
            ("bend:14", "bend"),
        ] {
            let (b, note) = Binding::parse(ParamId::SynthCutoff, given).unwrap();
            assert_eq!(b.value_text(), canonical, "{given}");
            if given == "bend:14" {
                assert!(note.unwrap().contains("kept bend"));
            } else {
                assert_eq!(note, None, "{given}");
            }
        }
    }

    #[test]
    fn sustain_and_channel_mode_controllers_are_refused() {
        for cc in [64u8, 120, 121, 123, 127] {
            let (r, b) = bind(ParamId::SynthCutoff, &format!("cc{cc}"));
            let e = r.unwrap_err();
            assert_eq!(e.field, "bind.syn.cut");
            assert!(e.message.contains("keeps its meaning"), "{e}");
            assert!(b.is_empty());
            let binding = Binding {
                param: ParamId::SynthCutoff,
                source: Source::Cc(cc),
                channel: None,
                soft: false,
            };
            assert!(Bindings::default().insert(binding).is_err());
        }
        assert!(bind(ParamId::SynthCutoff, "cc63").0.is_ok());
        assert!(bind(ParamId::SynthCutoff, "cc65").0.is_ok());
    }

    #[test]
    fn bad_sources_are_refused_and_bad_options_dropped_with_what_was_kept() {
        for bad in [
            "", "cc", "cc128", "cc-1", "ccx", "wheel", "bend2", "cc300:14",
        ] {
            let (r, b) = bind(ParamId::SynthCutoff, bad);
            let e = r.unwrap_err();
            assert!(e.message.contains("not bound"), "{bad}: {e}");
            assert!(b.is_empty(), "{bad}");
        }
        let (r, b) = bind(ParamId::SynthCutoff, "cc40:14:ch17:soft");
        let e = r.unwrap_err();
        assert!(e.message.contains("kept cc40:soft"), "{e}");
        assert_eq!(
            b.get(ParamId::SynthCutoff).unwrap().value_text(),
            "cc40:soft"
        );
    }

    #[test]
    fn unknown_parameters_are_named() {
        let mut b = Bindings::default();
        let e = b.apply_field("syn.nope", "cc74").unwrap_err();
        assert_eq!(e.field, "bind.syn.nope");
        assert!(e.message.contains("no parameter"), "{e}");
        assert!(b.is_empty());
    }

    #[test]
    fn one_binding_per_parameter_in_table_order_and_bounded() {
        let mut b = Bindings::default();
        b.apply_field("syn.cut", "cc74").unwrap();
        b.apply_field("bpm", "cc3").unwrap();
        let e = b.apply_field("syn.cut", "cc75").unwrap_err();
        assert!(e.message.contains("last one counts"));
        let mut text = String::new();
        b.write(&mut text);
        assert_eq!(text, "&bind.bpm=cc3&bind.syn.cut=cc75");
        assert_eq!(
            b.remove(ParamId::Tempo).map(|x| x.source),
            Some(Source::Cc(3))
        );
        assert_eq!(b.remove(ParamId::Tempo), None);
        assert_eq!(b.len(), 1);

        let mut full = Bindings::default();
        for (i, id) in ParamId::all().iter().enumerate() {
            let result = full.apply_field(id.spec().key, &format!("cc{}", i % 60));
            assert_eq!(result.is_ok(), i < MAX_BINDINGS, "binding {i}");
        }
        assert_eq!(full.len(), MAX_BINDINGS);
        assert_eq!(TOO_MANY, format!("more than {MAX_BINDINGS} bindings"));
        // Replacing one of them is still allowed at the bound.
        assert!(full
            .apply_field("bpm", "bend")
            .unwrap_err()
            .message
            .contains("last one"));
        assert_eq!(full.get(ParamId::Tempo).unwrap().source, Source::Bend);
    }

    #[test]
    fn codes_round_trip_and_reject_nonsense() {
        for source in [
            Source::Cc(0),
            Source::Cc(127),
            Source::Cc14(31),
            Source::Bend,
            Source::Pressure,
        ] {
            let (kind, n) = source.code();
            assert_eq!(Source::from_code(kind, n as u32), Some(source));
            assert_eq!(SOURCE_NAMES.len(), 4);
        }
        assert_eq!(Source::from_code(0, 128), None);
        assert_eq!(Source::from_code(1, 32), None);
        assert_eq!(Source::from_code(4, 1), None);
        assert_eq!(Source::from_code(0, u32::MAX), None);
    }
}
