//! Rhythm metrics of a line: onsets on the beat, note density, and the onset variance per
//! metrical position (how much the rhythm changes from bar to bar).

use super::notes::Line;

/// Onsets on a quarter-note position of their bar (see [`super::Meter::on_beat`]).
pub fn onsets_on_beat(line: &Line) -> u64 {
    line.notes
        .iter()
        .filter(|n| line.meter.on_beat(n.onset))
        .count() as u64
}

/// The onset variance's parts for one line, to pool over lines (see [`OnsetVariance::value`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OnsetVariance {
    /// Σ over the line's metrical positions p of SS_p / (16ths per bar), where SS_p is the sum
    /// of squared deviations, over the line's whole bars, of the onset indicator at p from its
    /// mean: the bar-to-bar sum of squares, averaged over positions.
    pub sum_squares: f64,
    /// Degrees of freedom: whole bars − 1 (0 for a line of fewer than two whole bars).
    pub dof: u64,
}

impl OnsetVariance {
    /// Measures a line: its whole bars only (a partial first or last bar would count the 16ths
    /// it lacks as "no onset").
    ///
    /// For each position p in the bar, x_b,p = 1 when bar b has an onset at p, else 0; q_p is
    /// its mean over the n whole bars, SS_p = Σ_b (x_b,p − q_p)² = n·q_p·(1 − q_p).
    pub fn of(line: &Line) -> OnsetVariance {
        let m = line.meter;
        let bar = m.bar as usize;
        // Bar b covers 16ths [b·bar − phase, (b + 1)·bar − phase) of the line: whole when
        // that lies inside [0, length).
        let first = if m.phase == 0 { 0 } else { 1 };
        let ends_at = (line.length + m.phase) / m.bar; // bars ending by the line's end
        if ends_at <= first {
            return OnsetVariance::default();
        }
        let n = ends_at - first;
        let mut hits = vec![0u32; bar];
        for note in &line.notes {
            let b = m.bar_of(note.onset);
            if (first..ends_at).contains(&b) {
                hits[m.position(note.onset) as usize] += 1;
            }
        }
        let nf = n as f64;
        let ss: f64 = hits
            .iter()
            .map(|&h| {
                let q = h as f64 / nf;
                nf * q * (1.0 - q)
            })
            .sum();
        OnsetVariance {
            sum_squares: ss / bar as f64,
            dof: n as u64 - 1,
        }
    }

    /// Adds another line's parts (pooling: the pooled within-line variance).
    pub fn add(&mut self, other: OnsetVariance) {
        self.sum_squares += other.sum_squares;
        self.dof += other.dof;
    }

    /// The mean over metrical positions of the across-bar sample variance of the onset
    /// indicator (pooled over lines: Σ sums of squares / Σ (bars − 1)). 0: every bar has the
    /// same rhythm; 0.25 at most; None with fewer than two whole bars.
    pub fn value(&self) -> Option<f64> {
        (self.dof > 0).then(|| self.sum_squares / self.dof as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::super::notes::{Meter, Note};
    use super::*;

    fn line(onsets: &[u32], length: u32, meter: Meter) -> Line {
        let notes = onsets
            .iter()
            .map(|&onset| Note {
                onset,
                duration: 1,
                pitch: 60,
            })
            .collect();
        Line::from_notes(notes, length, meter)
    }

    #[test]
    fn onsets_on_the_beat_by_hand() {
        // 4/4 from a downbeat: onsets at 0, 2, 4, 7, 8 → 0, 4, 8 on quarters: 3.
        let l = line(&[0, 2, 4, 7, 8], 16, Meter::FOUR_FOUR);
        assert_eq!(onsets_on_beat(&l), 3);
        // The same onsets a 16th later in the bar (phase 1): 7 → position 8 only: 1.
        let l = line(&[0, 2, 4, 7, 8], 16, Meter::new(16, 1).unwrap());
        assert_eq!(onsets_on_beat(&l), 1);
        assert_eq!(onsets_on_beat(&line(&[], 16, Meter::FOUR_FOUR)), 0);
    }

    #[test]
    fn onset_variance_by_hand() {
        // Bar 1: onsets at 0, 4, 8, 12; bar 2: at 0, 8. Positions 4 and 12 differ: q = ½ there,
        // SS = 2·½·½ = 0.5 each, 0 elsewhere; Σ SS / 16 = 1/16; dof = 2 − 1 → 0.0625.
        let l = line(&[0, 4, 8, 12, 16, 24], 32, Meter::FOUR_FOUR);
        let v = OnsetVariance::of(&l);
        assert_eq!(v.dof, 1);
        assert!((v.value().unwrap() - 0.0625).abs() < 1e-12);
        // The same rhythm in every bar: 0.
        let same = line(&[0, 6, 16, 22, 32, 38], 48, Meter::FOUR_FOUR);
        assert_eq!(OnsetVariance::of(&same).value(), Some(0.0));
        // One whole bar, no line, all rests: no value.
        assert_eq!(
            OnsetVariance::of(&line(&[0, 4], 16, Meter::FOUR_FOUR)).value(),
            None
        );
        assert_eq!(
            OnsetVariance::of(&line(&[], 0, Meter::FOUR_FOUR)).value(),
            None
        );
        // Two silent bars: variance 0 (the rhythm "nothing" is perfectly regular).
        assert_eq!(
            OnsetVariance::of(&line(&[], 32, Meter::FOUR_FOUR)).value(),
            Some(0.0)
        );
    }

    #[test]
    fn partial_bars_are_left_out_and_lines_pool() {
        // Phase 12: t 0..4 is the pickup (bar 0, partial); bars 1 and 2 are t 4..20 and
        // 20..36; the line is 38 long, so bar 3 (t 36..) is partial too. Onsets at 0 (pickup,
        // ignored), 4, 12 (bar 1: positions 0, 8), 20 (bar 2: position 0), 36 (ignored).
        let l = line(&[0, 4, 12, 20, 36], 38, Meter::new(16, 12).unwrap());
        let v = OnsetVariance::of(&l);
        // Position 8: q = ½, SS = 0.5; Σ SS / 16 = 0.03125, dof 1.
        assert_eq!(v.dof, 1);
        assert!((v.sum_squares - 0.03125).abs() < 1e-12);
        // Pooled with the 0.0625 line above: (0.03125 + 0.0625) / (1 + 1) = 0.046875.
        let mut pooled = v;
        pooled.add(OnsetVariance::of(&line(
            &[0, 4, 8, 12, 16, 24],
            32,
            Meter::FOUR_FOUR,
        )));
        assert!((pooled.value().unwrap() - 0.046875).abs() < 1e-12);
    }
}
