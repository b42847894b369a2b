//! Fuzzes the patch parser with thousands of random and mutated strings (a shared link is
//! untrusted input): it never panics, every error names a field and says what happened, the
//! result is always a valid patch whose canonical text parses back cleanly to the same patch,
//! MIDI learn bindings included (never a refused controller, never two for one parameter).

use tidepool_engine::bindings::{Source, MAX_BINDINGS};
use tidepool_engine::{ParamId, Patch, MAX_PATCH_BYTES};
use tidepool_reservoir::SeededRng;

const ALPHABET: &[u8] = b"tp1&=;.%#/-+eE0123456789abcdefghijklmnopqrsuvwxyz ABCXYZ\n\t\x00\x7f";
const PIECES: &[&str] = &[
    "tp1",
    "tp2",
    "&",
    "=",
    "bpm",
    "lfo.sr",
    "arp.div",
    "1/16d",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-0",
    "%2F",
    "%",
    "%zz",
    "%00",
    "#",
    "http://127.0.0.1:8000/#",
    "ü",
    "🎹",
    "syn.cut",
    "reservoir",
    "==",
    "&&",
    ";",
    "\u{202e}",
    "bind.",
    "bind.syn.cut=",
    "bind.lfo.sr",
    "cc74",
    "cc64",
    "cc1:14",
    "cc120",
    ":14",
    ":ch2",
    ":ch17",
    ":soft",
    "bend",
    "pressure",
];

fn random_text(rng: &mut SeededRng) -> String {
    let len = rng.below(200);
    let mut s = String::new();
    for _ in 0..len {
        if rng.below(3) == 0 {
            s.push_str(PIECES[rng.below(PIECES.len())]);
        } else {
            s.push(ALPHABET[rng.below(ALPHABET.len())] as char);
        }
    }
    s
}

fn mutate(text: &str, rng: &mut SeededRng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(chars.len().max(1));
        match rng.below(4) {
            0 if !chars.is_empty() => {
                chars.remove(at.min(chars.len() - 1));
            }
            1 => chars.insert(
                at.min(chars.len()),
                ALPHABET[rng.below(ALPHABET.len())] as char,
            ),
            2 => {
                for c in PIECES[rng.below(PIECES.len())].chars().rev() {
                    chars.insert(at.min(chars.len()), c);
                }
            }
            _ if !chars.is_empty() => {
                let i = at.min(chars.len() - 1);
                chars[i] = ALPHABET[rng.below(ALPHABET.len())] as char;
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn check(text: &str) {
    let parsed = Patch::parse(text);
    for e in &parsed.errors {
        assert!(!e.field.is_empty(), "error without a field for {text:?}");
        assert!(!e.message.is_empty());
        assert!(
            e.field.chars().count() <= 40,
            "field echo is clipped: {:?}",
            e.field
        );
    }
    for id in ParamId::all() {
        let v = parsed.patch.values.get(*id);
        let spec = id.spec();
        assert!(
            v.is_finite() && v >= spec.min() && v <= spec.max(),
            "{} = {v} from {text:?}",
            spec.key
        );
    }
    let bindings: Vec<_> = parsed.bindings.iter().collect();
    assert!(bindings.len() <= MAX_BINDINGS);
    for pair in bindings.windows(2) {
        assert!(
            pair[0].param.index() < pair[1].param.index(),
            "one binding per parameter, in table order: {text:?}"
        );
    }
    for b in &bindings {
        assert_eq!(b.source.refused(), None, "{b:?} from {text:?}");
        assert!(b.channel.is_none_or(|c| (1..=16).contains(&c)), "{b:?}");
        assert!(!matches!(b.source, Source::Cc(128..) | Source::Cc14(32..)));
    }
    let canonical = parsed.text();
    let again = Patch::parse(&canonical);
    assert!(
        again.errors.is_empty(),
        "canonical text must parse cleanly: {:?}",
        again.errors
    );
    assert_eq!(again.patch, parsed.patch);
    assert_eq!(again.bindings, parsed.bindings);
    assert_eq!(again.text(), canonical, "canonical text is a fixed point");
}

#[test]
fn random_strings_never_panic_and_give_clear_errors() {
    let mut rng = SeededRng::new(2026, 0);
    for _ in 0..4000 {
        check(&random_text(&mut rng));
    }
}

#[test]
fn mutated_valid_patches_never_panic_and_keep_what_is_valid() {
    let mut rng = SeededRng::new(11, 0);
    let base = Patch::default().to_text();
    let mut worst_errors = 0;
    for _ in 0..4000 {
        let text = mutate(&base, &mut rng);
        check(&text);
        worst_errors = worst_errors.max(Patch::parse(&text).errors.len());
    }
    // A handful of mutations break a handful of fields, never the whole patch.
    assert!(worst_errors <= 16, "{worst_errors}");
}

#[test]
fn mutated_patches_with_bindings_keep_every_valid_binding() {
    let mut rng = SeededRng::new(64, 0);
    let base = format!(
        "{}&bind.lfo.sr=cc21:14:ch2:soft&bind.arp.beta=bend:ch1&bind.syn.cut=cc74&bind.syn.res=pressure",
        Patch::default().to_text()
    );
    assert_eq!(Patch::parse(&base).bindings.len(), 4);
    let mut kept = 0;
    for _ in 0..4000 {
        let text = mutate(&base, &mut rng);
        check(&text);
        kept += Patch::parse(&text).bindings.len();
    }
    // A few mutations in 800 characters rarely touch the bindings: most of them survive.
    assert!(kept > 4000 * 3, "{kept} bindings kept of {}", 4000 * 4);
}

#[test]
fn bindings_are_bounded() {
    let fields: String = ParamId::all()
        .iter()
        .map(|id| format!("&bind.{}=cc2", id.spec().key))
        .collect();
    let parsed = Patch::parse(&format!("tp1{fields}"));
    check(&format!("tp1{fields}"));
    assert_eq!(parsed.bindings.len(), MAX_BINDINGS);
    assert_eq!(
        parsed.errors.len(),
        ParamId::all().len() - MAX_BINDINGS,
        "each binding past the bound is reported"
    );
}

#[test]
fn huge_and_pathological_inputs_are_bounded() {
    check(&"&".repeat(MAX_PATCH_BYTES * 4));
    check(&"bpm=1&".repeat(5000));
    check(&"é".repeat(MAX_PATCH_BYTES));
    check(&format!("tp1&bpm={}", "9".repeat(10_000)));
    let many = Patch::parse(&"x=1&".repeat(1000));
    assert!(
        many.errors.len() <= 600,
        "errors are bounded too: {}",
        many.errors.len()
    );
}
