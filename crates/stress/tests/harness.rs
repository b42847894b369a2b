//! The harness's own judges can fail: the note ledger sees a note left open, the block timing
//! keeps a block that is slow every time and forgives one that was only preempted, the MIDI
//! reader keeps garbage out, and the fuzzers' corruptions really change the bytes.

use tidepool_engine::{NoteEvent, Source};
use tidepool_reservoir::SeededRng;
use tidepool_stress::automation::{allowances, confirmed, SLOW_BLOCK};
use tidepool_stress::host::{BlockTime, Ledger};
use tidepool_stress::inputs::{corrupt, random_midi};

fn note(frame: u64, pitch: u8, velocity: u8, source: Source) -> NoteEvent {
    NoteEvent {
        frame,
        pitch,
        velocity,
        source,
    }
}

#[test]
fn the_ledger_finds_a_note_left_open_per_source_and_pitch() {
    let mut l = Ledger::default();
    l.feed(&[
        note(0, 60, 100, Source::Arp),
        note(5, 60, 100, Source::Keys),
        note(9, 60, 0, Source::Arp),
    ]);
    assert_eq!(l.open_notes(), [(Source::Keys, 60, 5)]);
    l.feed(&[
        note(12, 60, 0, Source::Keys),
        note(13, 61, 0, Source::Melody),
    ]);
    assert!(l.open_notes().is_empty());
    assert_eq!((l.ons, l.offs, l.orphan_offs), (2, 3, 1));
}

fn blocks(times: &[f64]) -> Vec<BlockTime> {
    times
        .iter()
        .enumerate()
        .map(|(i, &seconds)| BlockTime {
            start: i as u64 * 128,
            frames: 128,
            seconds,
            shapes: ((300, 0.1, 1), (100, 0.1, 1)),
            context: Default::default(),
            work: [0, 0, 0, 2],
        })
        .collect()
}

#[test]
fn a_block_slow_every_time_stays_slow_and_a_preempted_one_is_forgiven() {
    let mut times = vec![1e-5; 99];
    times.push(1e-5 * (SLOW_BLOCK + 1.0));
    let over = |best: &[f64], allow: &[Option<f64>]| {
        best.iter()
            .zip(allow)
            .filter(|(t, a)| a.is_some_and(|a| **t > a))
            .count()
    };
    // Slow again on every rerun: kept.
    let (best, allow) = confirmed(&blocks(&times), || blocks(&times));
    assert_eq!(over(&best, &allow), 1);
    // Fast on the rerun: it was the machine, not the engine.
    let (best, allow) = confirmed(&blocks(&times), || blocks(&[1e-5; 100]));
    assert_eq!(over(&best, &allow), 0);
}

#[test]
fn a_block_doing_more_work_is_judged_by_its_own_kind() {
    let mut b = blocks(&[1e-5; 100]);
    // Ten blocks each with a heavy reservoir step: 20× the others, as a dense step is.
    for x in b.iter_mut().step_by(10) {
        x.seconds = 2e-4;
        x.work[0] = 1;
    }
    let times: Vec<f64> = b.iter().map(|x| x.seconds).collect();
    let allow = allowances(&b, &times);
    assert!(times.iter().zip(&allow).all(|(t, a)| *t <= a.unwrap()));
    // The same heavy work twice as slow again (a denormal, say) is caught.
    b[10].seconds = 2e-4 * (SLOW_BLOCK + 1.0);
    let times: Vec<f64> = b.iter().map(|x| x.seconds).collect();
    let allow = allowances(&b, &times);
    assert!(times[10] > allow[10].unwrap());
}

#[test]
fn garbage_midi_decodes_to_bounded_inputs_and_corruptions_change_bytes() {
    let mut rng = SeededRng::new(5, 0);
    let mut decoded = 0;
    for _ in 0..200 {
        let bytes = random_midi(&mut rng, 300);
        decoded += tidepool_stress::midi::inputs(&bytes).len();
    }
    assert!(
        decoded > 100,
        "the stream should carry some notes: {decoded}"
    );
    let original = vec![7u8; 4096];
    for _ in 0..50 {
        assert_ne!(corrupt(&original, &mut rng), original);
    }
}
