//! Fuzzes the patch parser with thousands of random and mutated strings (a shared link is
//! untrusted input): it never panics, every error names a field and says what happened, the
//! result is always a valid patch whose canonical text parses back cleanly to the same patch.

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
    let canonical = parsed.patch.to_text();
    let again = Patch::parse(&canonical);
    assert!(
        again.errors.is_empty(),
        "canonical text must parse cleanly: {:?}",
        again.errors
    );
    assert_eq!(again.patch, parsed.patch);
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
