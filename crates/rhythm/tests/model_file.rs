//! Model files: they round-trip exactly, carry PyTorch's state-dict names, load in PyTorch
//! (tools/rhythm/load_model.py's committed output for a file written here) and read files
//! PyTorch wrote (tools/rhythm/model.py), and every corrupt or mismatched file is refused with
//! a message naming what is wrong, never a panic.

mod nn_support;

use nn_support::{example_rhythms, Xs};
use tidepool_rhythm::arch::Arch;
use tidepool_rhythm::decoder::Decoded;
use tidepool_rhythm::model::Autoencoder;
use tidepool_rhythm::model_file::{read, tensor_layout, write};
use tidepool_rhythm::train::{train, TrainConfig};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/rhythm/fixtures");

fn trained(arch: Arch, velocity_head: bool, epochs: usize) -> Autoencoder {
    let cfg = TrainConfig {
        arch,
        epochs,
        velocity_head,
        seed: 5,
        ..TrainConfig::default()
    };
    train(&example_rhythms(40, 6), &cfg, |_, _| true).unwrap()
}

#[test]
fn every_architecture_round_trips_exactly() {
    for arch in Arch::ALL {
        for head in [false, true] {
            let model = trained(arch, head, 3);
            let bytes = write(&model);
            let back = read(&bytes).unwrap_or_else(|e| panic!("{arch:?}: {e}"));
            assert_eq!(back, model, "{arch:?} head {head}");
            assert_eq!(write(&back), bytes);
            // The data starts 8-aligned, as other safetensors writers keep it.
            let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap());
            assert_eq!(header_len % 8, 0);
        }
    }
}

/// The names are those of the documented `nn.Sequential` modules (model 2's Dropout modules
/// take indices), with `nn.Linear`'s `[out, in]` shapes.
#[test]
fn tensor_names_follow_pytorch_sequential_numbering() {
    let names = |arch, head| -> Vec<String> {
        tensor_layout(arch, head)
            .into_iter()
            .map(|(n, i, o)| format!("{n}:{o}x{i}"))
            .collect()
    };
    assert_eq!(
        names(Arch::Model1, true),
        [
            "encoder.0:20x32",
            "encoder.2:8x20",
            "encoder.4:2x8",
            "decoder.0:8x2",
            "decoder.2:20x8",
            "decoder.4:32x20",
            "velocity:32x20"
        ]
    );
    assert_eq!(
        names(Arch::Model2, false),
        [
            "encoder.0:20x32",
            "encoder.3:8x20",
            "encoder.6:2x8",
            "decoder.0:8x2",
            "decoder.3:20x8",
            "decoder.6:32x20"
        ]
    );
    assert_eq!(names(Arch::Prototype, false)[1], "encoder.2:2x16");
    assert_eq!(names(Arch::Model3, false).len(), 8);
    let bytes = write(&trained(Arch::Model2, true, 1));
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = String::from_utf8_lossy(&bytes[8..8 + len]).to_string();
    for want in [
        "\"encoder.3.weight\":{\"dtype\":\"F32\",\"shape\":[8,20]",
        "\"velocity.bias\"",
        "\"arch\":\"model2\"",
        "\"epochs\":\"1\"",
        "\"data_count\":\"40\"",
    ] {
        assert!(header.contains(want), "{want} not in {header}");
    }
}

/// Writes the fixture load_model.py reads (run by hand when the format changes:
/// `cargo test -p tidepool-rhythm --test model_file -- --ignored`, then
/// `python tools/rhythm/load_model.py tools/rhythm/fixtures/rust-model3.safetensors --grid >
/// tools/rhythm/fixtures/rust-model3.torch.json`).
#[test]
#[ignore]
fn write_the_fixture_for_pytorch() {
    let model = trained(Arch::Model3, true, 40);
    std::fs::create_dir_all(FIXTURES).unwrap();
    std::fs::write(format!("{FIXTURES}/rust-model3.safetensors"), write(&model)).unwrap();
}

/// PyTorch's decodes of a file (load_model.py's `--grid` output) equal ours.
fn agrees_with_pytorch(model: &Autoencoder, json: &str) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["strict"], true, "load_state_dict(strict=True) succeeded");
    assert_eq!(v["arch"], model.arch().name());
    let points = v["points"].as_array().unwrap();
    assert!(points.len() >= 9);
    let d = model.decoder();
    let mut out = Decoded::default();
    for p in points {
        let xy = p["xy"].as_array().unwrap();
        let xy = [
            xy[0].as_f64().unwrap() as f32,
            xy[1].as_f64().unwrap() as f32,
        ];
        d.decode(xy, &mut out);
        for (key, ours) in [("prob", &out.prob), ("velocity", &out.velocity)] {
            let theirs = p[key].as_array().unwrap();
            assert_eq!(theirs.len(), 32);
            for (s, t) in theirs.iter().enumerate() {
                let t = t.as_f64().unwrap() as f32;
                assert!(
                    (t - ours[s]).abs() < 1e-5,
                    "{key} at {xy:?} step {s}: torch {t}, ours {}",
                    ours[s]
                );
            }
        }
    }
}

#[test]
fn pytorch_loads_our_file_and_decodes_the_same() {
    let bytes = std::fs::read(format!("{FIXTURES}/rust-model3.safetensors")).unwrap();
    let json = std::fs::read_to_string(format!("{FIXTURES}/rust-model3.torch.json")).unwrap();
    agrees_with_pytorch(&read(&bytes).unwrap(), &json);
}

/// A model2 file written by tools/rhythm/model.py (PyTorch's own safetensors writer, its
/// header order and metadata) reads here and decodes as PyTorch did.
#[test]
fn we_read_pytorchs_file_and_decode_the_same() {
    let bytes = std::fs::read(format!("{FIXTURES}/torch-model2.safetensors")).unwrap();
    let json = std::fs::read_to_string(format!("{FIXTURES}/torch-model2.torch.json")).unwrap();
    let model = read(&bytes).unwrap();
    assert_eq!(model.arch(), Arch::Model2);
    agrees_with_pytorch(&model, &json);
}

/// Rewrites the header of a valid file with `edit` (the tensor data stays).
fn with_header(bytes: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = edit(std::str::from_utf8(&bytes[8..8 + len]).unwrap());
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&bytes[8 + len..]);
    out
}

#[test]
fn corrupt_and_mismatched_files_are_refused_by_name() {
    let good = write(&trained(Arch::Model1, true, 1));
    let reason = |bytes: &[u8]| read(bytes).expect_err("must be refused");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..5].to_vec(), "shorter than the 8-byte"),
        (good[..good.len() - 4].to_vec(), "lies outside the file"),
        (
            with_header(&good, |h| h.replace("\"model1\"", "\"model4\"")),
            "unknown rhythm architecture `model4`",
        ),
        (
            with_header(&good, |h| h.replace("\"model1\"", "\"model3\"")),
            "`encoder.2.weight` has shape [8, 20]; a model3 model needs [10, 20]",
        ),
        (
            with_header(&good, |h| h.replace("\"model1\"", "\"prototype\"")),
            "`encoder.0.weight` has shape [20, 32]; a prototype model needs [16, 32]",
        ),
        (
            with_header(&good, |h| h.replace("\"model1\"", "\"model2\"")),
            "has no `encoder.3.weight`",
        ),
        (
            with_header(&good, |h| h.replace("\"arch\":\"model1\",", "")),
            "no `arch`",
        ),
        (
            with_header(&good, |h| h.replace("velocity.bias", "velocity.gain")),
            "has no `velocity.bias`",
        ),
        (
            with_header(&good, |h| {
                h.replace("\"velocity_head\":\"true\"", "\"velocity_head\":\"false\"")
            }),
            "velocity_head is false",
        ),
        (
            with_header(&good, |h| h.replacen("F32", "F16", 1)),
            "is F16",
        ),
        (
            with_header(&good, |h| {
                h.replace("\"format_version\":\"1\"", "\"format_version\":\"7\"")
            }),
            "format_version is 7",
        ),
        (
            with_header(&good, |h| h.replace("tidepool-rhythm", "tidepool-melody")),
            "not a tidepool rhythm model",
        ),
        (
            with_header(&good, |h| h.replace("\"seed\":\"5\"", "\"seed\":\"five\"")),
            "`seed` is `five`",
        ),
        (
            with_header(&good, |h| h.replacen('{', "[", 1)),
            "header is not valid",
        ),
        (
            with_header(&good, |h| {
                h.replace("\"shape\":[20,32]", "\"shape\":[20,31]")
            }),
            "not what its shape",
        ),
    ];
    for (bytes, words) in cases {
        let e = reason(&bytes);
        assert!(e.contains(words), "expected `{words}` in: {e}");
    }
    // An extra tensor: another architecture's file.
    let model3 = write(&trained(Arch::Model3, false, 1));
    let e = reason(&with_header(&model3, |h| {
        h.replace("\"model3\"", "\"model1\"")
    }));
    assert!(e.contains("shape") || e.contains("tensor"), "{e}");
    // A NaN weight.
    let mut nan = good.clone();
    let at = nan.len() - 4;
    nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(reason(&nan).contains("non-finite"));
}

/// Truncation at every length and random damage: an error or a model, never a panic.
#[test]
fn damaged_files_never_panic() {
    let good = write(&trained(Arch::Prototype, true, 1));
    for n in 0..good.len() {
        assert!(read(&good[..n]).is_err(), "truncated to {n} bytes");
    }
    let mut rng = Xs(77);
    for _ in 0..3000 {
        let mut b = good.clone();
        for _ in 0..1 + rng.next() % 3 {
            let at = (rng.next() % b.len() as u64) as usize;
            b[at] = rng.next() as u8;
        }
        if let Ok(m) = read(&b) {
            let mut out = Decoded::default();
            m.decoder().decode([0.5, 0.5], &mut out);
        }
    }
}
