//! The longest repeated figure of a line: motivic repetition, the thing a melody that "goes
//! somewhere" does and a random walk does not.
//!
//! A figure is a run of consecutive moves, a move being (interval in semitones, inter-onset
//! time in 16ths) from one note to the next: transposition-invariant, and a figure repeated
//! in a different rhythm is a different figure. The longest repeated figure is the largest k
//! such that some k consecutive moves occur twice with the two runs not sharing a move
//! (they may share a note: the last note of one may be the first of the other).

use super::notes::Note;

/// Moves of the longest figure that occurs twice without overlap (0 for fewer than 3 notes or
/// no repeated move). k moves span k + 1 notes.
pub fn longest_repeated_figure(notes: &[Note]) -> usize {
    let moves: Vec<(i32, u32)> = notes
        .windows(2)
        .map(|w| {
            (
                w[1].pitch as i32 - w[0].pitch as i32,
                w[1].onset - w[0].onset,
            )
        })
        .collect();
    let n = moves.len();
    // run[j] after row i: how many moves end at i and at j alike (i < j), capped at j − i so
    // the two runs never overlap. Only the previous row is needed. O(n²) time, O(n) memory:
    // an 8-bar window has at most 128 notes.
    let mut run = vec![0usize; n + 1];
    let mut best = 0;
    for i in 1..=n {
        // Right to left, so run[j - 1] still holds row i − 1's value.
        for j in (i + 1..=n).rev() {
            run[j] = if moves[i - 1] == moves[j - 1] && run[j - 1] < j - i {
                run[j - 1] + 1
            } else {
                0
            };
            best = best.max(run[j]);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Notes from (pitch, length in 16ths), each starting where the previous one ends.
    fn line(notes: &[(u8, u32)]) -> Vec<Note> {
        let mut t = 0;
        notes
            .iter()
            .map(|&(pitch, duration)| {
                let n = Note {
                    onset: t,
                    duration,
                    pitch,
                };
                t += duration;
                n
            })
            .collect()
    }

    #[test]
    fn a_figure_repeated_a_step_higher() {
        // C D E (quarters) G, then the same figure a step higher: D E F# (quarters) A.
        // Moves: (+2,4) (+2,4) (+3,4) (−5,4) (+2,4) (+2,4) (+3,4). The run (+2,4)(+2,4)(+3,4)
        // occurs at moves 0–2 and 4–6: 3 moves. No run of 4 occurs twice.
        let notes = line(&[
            (60, 4),
            (62, 4),
            (64, 4),
            (67, 4),
            (62, 4),
            (64, 4),
            (66, 4),
            (69, 4),
        ]);
        assert_eq!(longest_repeated_figure(&notes), 3);
    }

    #[test]
    fn the_rhythm_is_part_of_the_figure() {
        // The same pitches as above, the second figure in eighths. Moves: (+2,4) (+2,4) (+3,4)
        // (−5,4) (+2,2) (+2,2) (+3,2): (+2,2)(+2,2)(+3,2) is not (+2,4)(+2,4)(+3,4); what
        // occurs twice is a single move, (+2,4) at 0 and 1 (or (+2,2) at 4 and 5): 1.
        let notes = line(&[
            (60, 4),
            (62, 4),
            (64, 4),
            (67, 4),
            (62, 2),
            (64, 2),
            (66, 2),
            (69, 2),
        ]);
        assert_eq!(longest_repeated_figure(&notes), 1);
    }

    #[test]
    fn overlapping_repeats_do_not_count_twice() {
        // Six repeated quarter notes: five moves (0,4). Two non-overlapping runs: at most 2
        // moves each (moves 0–1 and 2–3, or 0–1 and 3–4); a run of 3 would need 6 moves.
        let notes = line(&[(60, 4); 6]);
        assert_eq!(longest_repeated_figure(&notes), 2);
        // Seven notes: six moves, runs 0–2 and 3–5: 3.
        assert_eq!(longest_repeated_figure(&line(&[(60, 4); 7])), 3);
    }

    #[test]
    fn short_and_empty_lines() {
        assert_eq!(longest_repeated_figure(&[]), 0);
        assert_eq!(longest_repeated_figure(&line(&[(60, 4)])), 0);
        assert_eq!(longest_repeated_figure(&line(&[(60, 4), (62, 4)])), 0);
        // Three notes, two equal moves (+2,4)(+2,4): the figure of one move occurs twice.
        assert_eq!(
            longest_repeated_figure(&line(&[(60, 4), (62, 4), (64, 4)])),
            1
        );
    }
}
