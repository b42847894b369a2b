//! Melody metrics: what a line of notes is like, so generated lines can be compared with the
//! chorales they were trained on (`tidepool melody metrics`) and the musician's playing with
//! the melody's (the page's live view).
//!
//! A token line becomes notes with its meter ([`Line::from_tokens`], [`Meter`]); a [`Tally`]
//! pools lines into a [`Summary`]. The metrics, exactly:
//!
//! - **Pitch-class entropy** (bits): entropy of the histogram of the notes' pitch classes, each
//!   note counted once whatever its length; per whole 8-bar window, mean over windows.
//! - **Steps / leaps** and the **interval histogram**: the interval between each note and the
//!   next (across a rest too). A step is |interval| ≤ 2 semitones, **repeated notes included**
//!   (the "≤ 2 semitones"); their share is also given on its own. A leap is wider. Shares
//!   of all intervals, pooled.
//! - **Range** (semitones): highest minus lowest pitch; per 8-bar window, mean over windows.
//! - **Note density**: onsets per bar (pooled: Σ onsets / Σ bars, rests included in the time).
//! - **Onsets on the beat**: share of onsets on a quarter-note position of their bar (16ths 0, 4,
//!   8, 12 after the bar line in 4/4), pooled.
//! - **Onset variance per metrical position**: over a line's whole bars, for each 16th position
//!   p of the bar the sample variance across bars of the onset indicator (1 if the bar has an
//!   onset at p), then the mean over positions; lines pooled as Σ sums of squares / Σ (bars − 1).
//!   0 = every bar has the same rhythm, 0.25 at most (see [`OnsetVariance`]).
//! - **In key**: share of notes whose pitch class is in the key's scale (major; minor with both
//!   the natural and the raised sixth and seventh), pooled.
//! - **Longest repeated figure**: the most consecutive (interval, inter-onset time) moves that
//!   occur twice without sharing a move; per 8-bar window, mean over windows
//!   ([`longest_repeated_figure`]).
//! - **Tonal tension**: per bar, Herremans & Chew's cloud diameter and tensile strain in Chew's
//!   spiral array (constants and their sources in [`tension`]); the table's numbers are means
//!   over bars with a note.
//! - **Silent bars**: share of the bars a line touches in which no note sounds (not a metric
//!   of the issue: it tells a free line that ended itself, which lowers the density, from one
//!   that plays fewer notes).

pub mod figure;
pub mod notes;
pub mod pitch;
pub mod rhythm;
pub mod tally;
pub mod tension;

pub use figure::longest_repeated_figure;
pub use notes::{Line, Meter, Note};
pub use pitch::{in_key, pitch_class_entropy_bits, range_semitones, Intervals};
pub use rhythm::{onsets_on_beat, OnsetVariance};
pub use tally::{Summary, Tally, WINDOW_BARS};
pub use tension::{tension_curve, BarTension};
