//! Scoring detected onsets against known ones as `mir_eval.onset.f_measure` does, and a
//! fingerprint of samples so a comparison can prove it ran on the very file another tool saw.

/// Precision, recall and F-measure of `estimated` against `reference` onset times (seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    pub f_measure: f64,
    pub precision: f64,
    pub recall: f64,
    /// Pairs matched one to one within the window.
    pub matched: usize,
}

/// `mir_eval.onset.f_measure(reference, estimated, window)`: a reference and an estimate may
/// pair when `estimated - window <= reference <= estimated + window`; each onset pairs at most
/// once and the number of pairs is the maximum possible. Either list empty scores 0.
///
/// mir_eval finds the maximum matching with Hopcroft-Karp; here both lists are sorted and each
/// reference's partners form a run of estimates whose ends only move forward, so matching every
/// reference in order to its earliest free partner is already maximum.
pub fn f_measure(reference: &[f64], estimated: &[f64], window: f64) -> Score {
    let zero = Score {
        f_measure: 0.0,
        precision: 0.0,
        recall: 0.0,
        matched: 0,
    };
    if reference.is_empty() || estimated.is_empty() {
        return zero;
    }
    let mut reference = reference.to_vec();
    let mut estimated = estimated.to_vec();
    reference.sort_by(f64::total_cmp);
    estimated.sort_by(f64::total_cmp);
    let mut matched = 0;
    let mut next = 0;
    for &r in &reference {
        // Estimates too early for this reference are too early for every later one too.
        while next < estimated.len() && r > estimated[next] + window {
            next += 1;
        }
        if next < estimated.len() && r >= estimated[next] - window {
            matched += 1;
            next += 1;
        }
    }
    let precision = matched as f64 / estimated.len() as f64;
    let recall = matched as f64 / reference.len() as f64;
    let f_measure = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Score {
        f_measure,
        precision,
        recall,
        matched,
    }
}

/// FNV-1a (64 bit) over the samples' little-endian float32 bytes: the same number
/// tools/rhythm/onsets_librosa.py computes from the samples librosa loaded.
pub fn fingerprint(samples: &[f32]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in samples.iter().flat_map(|s| s.to_le_bytes()) {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_matching_is_maximum_where_a_nearest_first_choice_would_not_be() {
        // Estimate 0.045 is nearest reference 0.08, but must pair with 0.0 so 0.08 can take 0.12.
        let s = f_measure(&[0.0, 0.08], &[0.045, 0.12], 0.05);
        assert_eq!(s.matched, 2);
        // One estimate cannot serve two references.
        let s = f_measure(&[0.0, 0.02], &[0.01], 0.05);
        assert_eq!((s.matched, s.precision, s.recall), (1, 1.0, 0.5));
        assert!((s.f_measure - 2.0 / 3.0).abs() < 1e-12);
        // The window's edge counts; beyond it does not.
        assert_eq!(f_measure(&[1.0], &[1.05], 0.05).matched, 1);
        assert_eq!(f_measure(&[1.0], &[1.0501], 0.05).matched, 0);
        assert_eq!(f_measure(&[], &[1.0], 0.05).f_measure, 0.0);
        assert_eq!(f_measure(&[1.0], &[], 0.05).f_measure, 0.0);
    }

    #[test]
    fn the_fingerprint_sees_every_bit() {
        assert_eq!(fingerprint(&[]), 0xcbf2_9ce4_8422_2325);
        let a = fingerprint(&[0.0, 1.0, -0.5]);
        assert_ne!(a, fingerprint(&[0.0, 1.0, -0.500_000_06]));
        assert_ne!(a, fingerprint(&[-0.0, 1.0, -0.5]));
        assert_eq!(a, fingerprint(&[0.0, 1.0, -0.5]));
    }
}
