//! A 2-bar rhythm: 32 sixteenth steps, each a hit or a rest, with a MIDI velocity per hit (the
//! many-hot vector the autoencoders read and write).

/// Sixteenth steps in a rhythm: two bars of 4/4.
pub const STEPS: usize = 32;

/// The velocity [`Rhythm::parse_pattern`] gives a hit (the text carries none).
pub const DEFAULT_VELOCITY: u8 = 100;

/// One 2-bar rhythm. Invariant kept by the constructors: `velocity[i]` is 0 where `hits[i]` is
/// false and 1..=127 where it is true.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rhythm {
    pub hits: [bool; STEPS],
    pub velocity: [u8; STEPS],
}

impl Default for Rhythm {
    /// Silence: no hit.
    fn default() -> Self {
        Rhythm {
            hits: [false; STEPS],
            velocity: [0; STEPS],
        }
    }
}

impl Rhythm {
    /// A rhythm from hits and optional velocities (clamped to 1..=127 at hits, 0 elsewhere; a
    /// hit without a velocity gets [`DEFAULT_VELOCITY`]).
    pub fn new(hits: [bool; STEPS], velocity: Option<&[u8; STEPS]>) -> Rhythm {
        let mut v = [0u8; STEPS];
        for i in 0..STEPS {
            if hits[i] {
                v[i] = velocity.map_or(DEFAULT_VELOCITY, |v| v[i]).clamp(1, 127);
            }
        }
        Rhythm { hits, velocity: v }
    }

    /// Reads 32 characters of `0`/`1` (spaces and `|` ignored, so `"1000 1000 | …"` reads);
    /// hits get [`DEFAULT_VELOCITY`].
    ///
    /// ```
    /// use tidepool_rhythm::Rhythm;
    /// let r = Rhythm::parse_pattern("1000100010001000 | 1000100010001010").unwrap();
    /// assert_eq!(r.hit_count(), 9);
    /// assert!(Rhythm::parse_pattern("10x0").is_err());
    /// ```
    pub fn parse_pattern(text: &str) -> Result<Rhythm, String> {
        let mut hits = [false; STEPS];
        let mut n = 0;
        for (at, c) in text.char_indices() {
            let hit = match c {
                '0' => false,
                '1' => true,
                ' ' | '|' => continue,
                other => {
                    return Err(format!(
                        "a rhythm pattern holds only 0, 1, spaces and `|`; found `{other}` at byte {at}"
                    ))
                }
            };
            if n == STEPS {
                return Err(format!(
                    "a rhythm pattern has {STEPS} steps; this one has more"
                ));
            }
            hits[n] = hit;
            n += 1;
        }
        if n != STEPS {
            return Err(format!(
                "a rhythm pattern has {STEPS} steps; this one has {n}"
            ));
        }
        Ok(Rhythm::new(hits, None))
    }

    /// The 32 steps as `0`/`1` characters, no separators.
    pub fn pattern_string(&self) -> String {
        self.hits
            .iter()
            .map(|&h| if h { '1' } else { '0' })
            .collect()
    }

    pub fn hit_count(&self) -> usize {
        self.hits.iter().filter(|&&h| h).count()
    }

    /// The many-hot input vector: 1.0 at hits, 0.0 at rests.
    pub fn as_input(&self) -> [f32; STEPS] {
        self.hits.map(|h| if h { 1.0 } else { 0.0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_text_round_trips_and_bad_text_is_named() {
        let text = "10010010001000101001001000100010";
        let r = Rhythm::parse_pattern(text).unwrap();
        assert_eq!(r.pattern_string(), text);
        assert_eq!(r.hit_count(), text.matches('1').count());
        for i in 0..STEPS {
            assert_eq!(r.velocity[i] > 0, r.hits[i]);
        }
        let spaced = "1001 0010 0010 0010 | 1001 0010 0010 0010";
        assert_eq!(
            Rhythm::parse_pattern(spaced).unwrap().pattern_string(),
            text
        );
        let short = Rhythm::parse_pattern("1001").unwrap_err();
        assert!(short.contains("this one has 4"), "{short}");
        let long = Rhythm::parse_pattern(&format!("{text}1")).unwrap_err();
        assert!(long.contains("more"), "{long}");
        let bad = Rhythm::parse_pattern("10a1").unwrap_err();
        assert!(bad.contains("`a` at byte 2"), "{bad}");
    }

    #[test]
    fn velocities_are_clamped_to_hits() {
        let mut hits = [false; STEPS];
        hits[0] = true;
        hits[3] = true;
        let mut v = [200u8; STEPS];
        v[3] = 0;
        let r = Rhythm::new(hits, Some(&v));
        assert_eq!((r.velocity[0], r.velocity[1], r.velocity[3]), (127, 0, 1));
    }
}
