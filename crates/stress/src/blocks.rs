//! Block sizes: one render cut into random blocks of 1 to 4096 frames gives the same samples (bit
//! for bit) and the same notes as the same render in fixed 128-frame blocks, through a busy score
//! of random automation (structural changes and the melody included).

use crate::automation::score;
use crate::host::{play, Blocks, Host, Played, Watch};
use crate::{Check, Size};
use tidepool_engine::{InputEvent, Patch};

/// The patch the renders start from: the melody on (the LSTM), so its steps are compared too.
const PATCH: &str = "tp1&mel.mode=free&mel.model=lstm&arp.div=1/32";

fn render(host: &Host, events: &[InputEvent], frames: u64, blocks: Blocks) -> Played {
    let mut e = host.engine(48000.0, &Patch::parse(PATCH).patch);
    host.preload(&mut e);
    let watch = Watch {
        audio: true,
        ..Watch::default()
    };
    play(host, &mut e, events, frames, blocks, watch, &[])
}

/// The first frame where two renders differ, or the first differing note.
fn first_difference(a: &Played, b: &Played) -> Option<String> {
    let sample = a
        .left
        .iter()
        .zip(&b.left)
        .chain(a.right.iter().zip(&b.right))
        .position(|(x, y)| x.to_bits() != y.to_bits());
    if let Some(i) = sample {
        return Some(format!("sample {} differs", i % a.left.len().max(1)));
    }
    if a.notes != b.notes {
        let i = a.notes.iter().zip(&b.notes).position(|(x, y)| x != y);
        return Some(format!(
            "notes differ ({} vs {}) at index {i:?}",
            a.notes.len(),
            b.notes.len()
        ));
    }
    None
}

pub fn check(host: &Host, size: Size) -> Vec<Check> {
    let (seeds, changes, seconds): (&[u64], usize, f64) = match size {
        Size::Ci => (&[11], 300, 8.0),
        Size::Long => (&[11, 12, 13, 14], 1500, 30.0),
    };
    seeds
        .iter()
        .map(|&seed| {
            let events = score(seed, 48000.0, seconds, changes);
            let frames = crate::host::frames(seconds, 48000.0);
            let fixed = render(host, &events, frames, Blocks::Fixed(128));
            let random = render(host, &events, frames, Blocks::Random { seed, max: 4096 });
            let diff = first_difference(&fixed, &random);
            Check::new(
                "blocks: random 1–4096 == fixed 128, bit for bit",
                format!("seed {seed}: {changes} changes + notes, {seconds} s"),
                diff.is_none() && fixed.notes.len() > 10,
                format!(
                    "{} frames, {} notes, {} installs{}",
                    frames,
                    fixed.notes.len(),
                    fixed.installs,
                    diff.map(|d| format!("; {d}")).unwrap_or_default()
                ),
            )
        })
        .collect()
}
