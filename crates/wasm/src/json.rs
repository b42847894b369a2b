//! The little JSON the page needs (the parameter table, parse results, the snapshot layout),
//! written by hand so the wasm module does not carry a JSON library.

use crate::{view, VIEW_NEURONS};
use tidepool_engine::params::{Group, Kind, PARAMS};
use tidepool_reservoir::{MAX_ARP_NOTES, MAX_LFO_OUTPUTS};

/// `s` as a JSON string literal: the workspace's one JSON string writer.
pub use tidepool_melody::model_file::json_header::quote as string;

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
        .enumerate()
        .map(|(id, p)| {
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
                Group::Rhythm => "rhythm",
            };
            format!(
                "{{\"id\":{id},\"key\":{},\"name\":{},\"group\":\"{group}\",\"kind\":\"{kind}\",\"min\":{},\"max\":{},\"log\":{log},\"choices\":[{}],\"default\":{},\"unit\":{},\"smoothing_ms\":{},\"structural\":{}}}",
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

pub fn patch_result(text: &str, values: &[f64], errors: &[String]) -> String {
    let errors: Vec<String> = errors.iter().map(|e| string(e)).collect();
    let values: Vec<String> = values.iter().map(|&v| number(v)).collect();
    format!(
        "{{\"text\":{},\"values\":[{}],\"errors\":[{}]}}",
        string(text),
        values.join(","),
        errors.join(",")
    )
}

/// `{"name": at, "next": at + 1, …}`.
fn offsets(names: &[&str], at: usize) -> String {
    let fields: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!("{}:{}", string(name), at + i))
        .collect();
    format!("{{{}}}", fields.join(","))
}

pub fn snapshot_layout() -> String {
    let per = view::NETWORK_NAMES.len();
    format!(
        "{{\"length\":{},\"lfo\":{},\"lfoCount\":{},\"neurons\":{},\"neuronCount\":{},\"entries\":{},\"maxEntries\":{},\"pitches\":{},\"probs\":{},\"status\":{},\"melody\":{},\"networks\":{{\"lfo\":{},\"arp\":{}}},\"clock\":{},\"rhythm\":{{\"at\":{},\"tracks\":{},\"perTrack\":{},\"fields\":{}}}}}",
        view::LEN,
        view::LFO,
        MAX_LFO_OUTPUTS,
        view::NEURONS,
        VIEW_NEURONS,
        view::ENTRIES,
        MAX_ARP_NOTES,
        view::PITCHES,
        view::PROBS,
        offsets(&view::STATUS_NAMES, view::STATUS),
        offsets(&view::MELODY_NAMES, view::MELODY),
        offsets(&view::NETWORK_NAMES, view::NETWORKS),
        offsets(&view::NETWORK_NAMES, view::NETWORKS + per),
        offsets(&view::CLOCK_NAMES, view::CLOCK),
        view::RHYTHM,
        view::RHYTHM_TRACKS,
        view::RHYTHM_PER_TRACK,
        format_args!(
            "{{\"prob\":0,\"velocity\":{},\"step\":{},\"ready\":{}}}",
            view::RHYTHM_STEPS,
            2 * view::RHYTHM_STEPS,
            2 * view::RHYTHM_STEPS + 1
        ),
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
        assert!(t.starts_with("[{\"id\":0,\"key\":\"bpm\""));
        assert!(t.contains(&format!("{{\"id\":{},\"key\":", PARAMS.len() - 1)));
        assert_eq!(t.matches("\"key\":").count(), PARAMS.len());
        assert!(t.contains("\"choices\":[\"off\",\"reservoir\""));
    }

    #[test]
    fn snapshot_layout_names_every_offset_once() {
        let layout = snapshot_layout();
        assert!(layout.starts_with(&format!("{{\"length\":{},", crate::VIEW_LEN)));
        assert!(layout.contains(&format!(
            "\"networks\":{{\"lfo\":{{\"neurons\":{},",
            view::NETWORKS
        )));
        // Every offset of the named parts appears exactly once, and they end where the snapshot does.
        let named = view::STATUS_NAMES.len()
            + view::MELODY_NAMES.len()
            + 2 * view::NETWORK_NAMES.len()
            + view::CLOCK_NAMES.len();
        for at in view::STATUS..view::RHYTHM {
            assert_eq!(
                layout.matches(&format!(":{at},")).count()
                    + layout.matches(&format!(":{at}}}")).count(),
                1,
                "{at} in {layout}"
            );
        }
        assert_eq!(view::RHYTHM - view::STATUS, named);
        assert!(layout.contains(&format!("\"rhythm\":{{\"at\":{},", view::RHYTHM)));
        assert_eq!(view::LEN - view::RHYTHM, 3 * (2 * 32 + 2));
    }
}
