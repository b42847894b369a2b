//! A tiny option parser: `--name value` (or `--name=value`) and `-o value` pairs, positional
//! words, nothing else. A value may start with `-` (`--xy -2,-3.5`).

/// Command-line words left to consume.
pub struct Args(Vec<String>);

impl Args {
    pub fn new(words: impl IntoIterator<Item = String>) -> Self {
        Self(words.into_iter().collect())
    }

    /// Removes `name value` or `name=value` (any of `names`) and returns the value.
    pub fn value(&mut self, names: &[&str]) -> Result<Option<String>, String> {
        let joined = self.0.iter().position(|w| {
            w.split_once('=')
                .is_some_and(|(name, _)| names.contains(&name))
        });
        if let Some(i) = joined {
            let word = self.0.remove(i);
            return Ok(word.split_once('=').map(|(_, v)| v.to_string()));
        }
        let Some(i) = self.0.iter().position(|w| names.contains(&w.as_str())) else {
            return Ok(None);
        };
        if i + 1 >= self.0.len() {
            return Err(format!("{} needs a value", self.0[i]));
        }
        let value = self.0.remove(i + 1);
        self.0.remove(i);
        Ok(Some(value))
    }

    /// A parsed value, or `default` when the option is absent.
    pub fn parsed<T: std::str::FromStr>(
        &mut self,
        names: &[&str],
        default: T,
    ) -> Result<T, String> {
        match self.value(names)? {
            Some(v) => v
                .parse()
                .map_err(|_| format!("{}: `{v}` is not a valid value", names[0])),
            None => Ok(default),
        }
    }

    /// The next positional word.
    pub fn positional(&mut self) -> Option<String> {
        let i = self.0.iter().position(|w| !w.starts_with('-'))?;
        Some(self.0.remove(i))
    }

    /// Fails if anything is left (a misspelt option must not be silently ignored).
    pub fn finish(self) -> Result<(), String> {
        match self.0.first() {
            Some(w) => Err(format!("unexpected argument `{w}` (see `tidepool help`)")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_flags_and_leftovers() {
        let words = ["render", "--seconds", "2", "-o", "a.wav", "x", "--what"].map(String::from);
        let mut a = Args::new(words);
        assert_eq!(a.positional().as_deref(), Some("render"));
        assert_eq!(a.parsed(&["--seconds"], 10.0).unwrap(), 2.0);
        assert_eq!(a.value(&["-o", "--out"]).unwrap().as_deref(), Some("a.wav"));
        assert_eq!(a.positional().as_deref(), Some("x"));
        assert!(a.finish().is_err());
        assert!(Args::new(["--seconds".to_string()])
            .value(&["--seconds"])
            .is_err());
        let mut a = Args::new(["--xy=-2,-3.5", "--bpm", "-1"].map(String::from));
        assert_eq!(a.value(&["--xy"]).unwrap().as_deref(), Some("-2,-3.5"));
        assert_eq!(a.value(&["--bpm"]).unwrap().as_deref(), Some("-1"));
        assert!(a.finish().is_ok());
    }
}
