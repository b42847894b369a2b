//! The little JSON the page needs (the parameter table, parse results), written by hand so the
//! wasm module does not carry a JSON library.

use std::fmt::Write;
use tidepool_engine::params::{Group, Kind, PARAMS};

/// `s` as a JSON string literal.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

pub fn param_table() -> String {
    let rows: Vec<String> = PARAMS
        .iter()
        .map(|p| {
            let (kind, log, choices) = match p.kind {
                Kind::Real { log, .. } => ("real", log, Vec::new()),
                Kind::Int { .. } => ("int", false, Vec::new()),
                Kind::Toggle => ("toggle", false, Vec::new()),
                Kind::Choice(names) => ("choice", false, names.iter().map(|n| string(n)).collect()),
            };
            let group = match p.group {
                Group::Transport => "transport",
                Group::Lfo => "lfo",
                Group::Arp => "arp",
                Group::Synth => "synth",
                Group::Melody => "melody",
            };
            format!(
                "{{\"key\":{},\"name\":{},\"group\":\"{group}\",\"kind\":\"{kind}\",\"min\":{},\"max\":{},\"log\":{log},\"choices\":[{}],\"default\":{},\"unit\":{},\"smoothing_ms\":{},\"structural\":{}}}",
                string(p.key),
                string(p.name),
                number(p.min()),
                number(p.max()),
                choices.join(","),
                number(p.default),
                string(p.unit),
                number(p.smoothing_ms as f64),
                p.structural
            )
        })
        .collect();
    format!("[{}]", rows.join(","))
}

pub fn patch_result(text: &str, errors: &[String]) -> String {
    let errors: Vec<String> = errors.iter().map(|e| string(e)).collect();
    format!(
        "{{\"text\":{},\"errors\":[{}]}}",
        string(text),
        errors.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c\n\u{1}<"), "\"a\\\"b\\\\c\\n\\u0001<\"");
    }

    #[test]
    fn table_lists_every_parameter() {
        let t = param_table();
        assert!(t.starts_with("[{\"key\":\"bpm\""));
        assert_eq!(t.matches("\"key\":").count(), PARAMS.len());
        assert!(t.contains("\"choices\":[\"off\",\"reservoir\""));
    }
}
