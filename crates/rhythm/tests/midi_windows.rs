//! MIDI notes to 32-step windows: the grid, the meters, the filter, rounding and velocities.

mod support;

use support::{at_ticks, meter, note16, tempo};
use tidepool_rhythm::midi_file::read_midi;
use tidepool_rhythm::midi_windows::{rhythms_from_midi, MidiRhythms, NoteFilter};

/// Events: notes at sixteenths (absolute), plus extra events at ticks.
fn windows(
    ppq: u16,
    notes: &[(u32, u8, u8, u8)],
    extra: &[(u32, Vec<u8>)],
    filter: &NoteFilter,
) -> MidiRhythms {
    let mut ev: Vec<(u32, Vec<u8>)> = extra.to_vec();
    for &(s, pitch, vel, ch) in notes {
        ev.extend(note16(ppq, s, pitch, vel, ch));
    }
    rhythms_from_midi(&read_midi(&at_ticks(ppq, &ev)).unwrap(), filter)
}

fn hit_steps(r: &tidepool_rhythm::Rhythm) -> Vec<usize> {
    (0..32).filter(|&s| r.hits[s]).collect()
}

#[test]
fn four_four_windows_are_two_bars_and_empty_ones_are_skipped() {
    // Bars 1-2 (sixteenths 0..32) and bars 7-8 (96..128); nothing in bars 3-6.
    let notes = [
        (0, 60, 100, 0),
        (6, 62, 80, 0),
        (31, 64, 40, 0),
        (96, 60, 90, 0),
        (99, 60, 91, 0),
    ];
    let w = windows(480, &notes, &[], &NoteFilter::default());
    assert_eq!((w.onsets, w.onsets_dropped), (5, 0));
    assert_eq!(w.rhythms.len(), 2);
    let (a, b) = (&w.rhythms[0], &w.rhythms[1]);
    assert_eq!((a.bar, a.start_beats), (1, 0.0));
    assert_eq!(hit_steps(&a.rhythm), vec![0, 6, 31]);
    assert_eq!(
        (
            a.rhythm.velocity[0],
            a.rhythm.velocity[6],
            a.rhythm.velocity[31]
        ),
        (100, 80, 40)
    );
    assert_eq!(a.rhythm.velocity[1], 0);
    assert_eq!((b.bar, b.start_beats), (7, 24.0));
    assert_eq!(hit_steps(&b.rhythm), vec![0, 3]);
}

#[test]
fn onsets_round_to_the_nearest_sixteenth_and_across_the_window_edge() {
    let ppq = 96; // a sixteenth is 24 ticks
    let on = |tick: u32, pitch: u8, vel: u8| {
        [
            (tick, vec![0x90, pitch, vel]),
            (tick + 5, vec![0x80, pitch, 0]),
        ]
    };
    let mut ev = Vec::new();
    ev.extend(on(11, 60, 10)); // 0.46 of a sixteenth: step 0
    ev.extend(on(12, 61, 20)); // exactly half: rounds later, step 1
    ev.extend(on(30, 62, 30)); // 1.25: step 1 as well, the louder wins
    ev.extend(on(32 * 24 - 10, 63, 40)); // just before bar 3: step 0 of the second window
    let w = rhythms_from_midi(
        &read_midi(&at_ticks(ppq, &ev)).unwrap(),
        &NoteFilter::default(),
    );
    assert_eq!(w.rhythms.len(), 2);
    assert_eq!(hit_steps(&w.rhythms[0].rhythm), vec![0, 1]);
    assert_eq!(w.rhythms[0].rhythm.velocity[1], 30);
    assert_eq!(hit_steps(&w.rhythms[1].rhythm), vec![0]);
    assert_eq!(w.rhythms[1].bar, 3);
}

#[test]
fn chords_make_one_hit_with_the_loudest_velocity_and_the_filter_picks_notes() {
    let notes = [
        (4, 60, 50, 0),
        (4, 64, 110, 0),
        (4, 36, 127, 9),
        (8, 38, 70, 9),
        (12, 72, 90, 1),
    ];
    let all = windows(120, &notes, &[], &NoteFilter::default());
    assert_eq!(hit_steps(&all.rhythms[0].rhythm), vec![4, 8, 12]);
    assert_eq!(all.rhythms[0].rhythm.velocity[4], 127);
    let drums = NoteFilter {
        channel: Some(9),
        ..NoteFilter::default()
    };
    let d = windows(120, &notes, &[], &drums);
    assert_eq!(d.onsets, 2);
    assert_eq!(hit_steps(&d.rhythms[0].rhythm), vec![4, 8]);
    let high = NoteFilter {
        pitch_min: 61,
        pitch_max: 127,
        ..NoteFilter::default()
    };
    let h = windows(120, &notes, &[], &high);
    assert_eq!(hit_steps(&h.rhythms[0].rhythm), vec![4, 12]);
    assert_eq!(h.rhythms[0].rhythm.velocity[4], 110);
    let none = NoteFilter {
        channel: Some(3),
        ..NoteFilter::default()
    };
    let n = windows(120, &notes, &[], &none);
    assert_eq!((n.onsets, n.rhythms.len()), (0, 0));
}

#[test]
fn tempo_changes_do_not_move_notes_off_their_steps() {
    let notes: Vec<(u32, u8, u8, u8)> = (0..32).step_by(3).map(|s| (s, 60, 100, 0)).collect();
    let steady = windows(480, &notes, &[], &NoteFilter::default());
    let ramps: Vec<(u32, Vec<u8>)> = (0..16)
        .map(|i| (i * 240, tempo(80.0 + 9.0 * i as f64)))
        .collect();
    let moving = windows(480, &notes, &ramps, &NoteFilter::default());
    assert_eq!(steady.rhythms, moving.rhythms);
    assert_eq!(
        hit_steps(&steady.rhythms[0].rhythm),
        (0..32).step_by(3).collect::<Vec<_>>()
    );
}

#[test]
fn two_four_takes_four_bars_and_three_four_drops_the_tail_of_every_third_bar() {
    // 2/4: a bar is 8 sixteenths; one onset per bar for 8 bars -> two windows of 4 bars.
    let notes: Vec<(u32, u8, u8, u8)> = (0..8).map(|b| (b * 8 + 2, 60, 100, 0)).collect();
    let w = windows(96, &notes, &[(0, meter(2, 2))], &NoteFilter::default());
    assert_eq!(w.rhythms.len(), 2);
    assert_eq!(hit_steps(&w.rhythms[0].rhythm), vec![2, 10, 18, 26]);
    assert_eq!((w.rhythms[1].bar, w.rhythms[1].start_beats), (5, 8.0));
    // 3/4: windows start every 3 bars (36 sixteenths); sixteenths 32..36 of each are dropped.
    let notes: Vec<(u32, u8, u8, u8)> = (0..72).step_by(2).map(|s| (s, 60, 100, 0)).collect();
    let w = windows(96, &notes, &[(0, meter(3, 2))], &NoteFilter::default());
    assert_eq!(w.rhythms.len(), 2);
    assert_eq!((w.onsets, w.onsets_dropped), (36, 4)); // 32, 34 and 68, 70
    assert_eq!((w.rhythms[1].bar, w.rhythms[1].start_beats), (4, 9.0));
    assert_eq!(
        hit_steps(&w.rhythms[1].rhythm),
        (0..32).step_by(2).collect::<Vec<_>>()
    );
    // 6/8 has the same bar length as 3/4, so the same windows.
    let w68 = windows(96, &notes, &[(0, meter(6, 3))], &NoteFilter::default());
    assert_eq!(w68.rhythms, w.rhythms);
}

#[test]
fn a_new_time_signature_starts_new_windows_at_its_bar_line() {
    // One bar of 4/4, then 3/4 from beat 4: the first window is cut after one bar, the 3/4
    // windows start at beat 4 (bar 2).
    let notes = [
        (0, 60, 100, 0),
        (15, 60, 100, 0),
        (16, 60, 100, 0),
        (16 + 31, 60, 100, 0),
    ];
    let sigs = [(0, meter(4, 2)), (4 * 96, meter(3, 2))];
    let w = windows(96, &notes, &sigs, &NoteFilter::default());
    assert_eq!(w.rhythms.len(), 2);
    assert_eq!(hit_steps(&w.rhythms[0].rhythm), vec![0, 15]);
    assert_eq!((w.rhythms[1].bar, w.rhythms[1].start_beats), (2, 4.0));
    assert_eq!(hit_steps(&w.rhythms[1].rhythm), vec![0, 31]);
}
