//! The built-in rhythm models the page and `tidepool render` play: each committed compact
//! decoder (`web/models/rhythm-<arch>.tprd`) is exactly `tidepool rhythm compact` of the
//! committed model file, which was trained on the built-in corpus with the architecture its name
//! says; and each plays a rhythm somewhere on the pad.

use std::path::Path;
use tidepool_rhythm::arch::Arch;
use tidepool_rhythm::decoder::{Decoded, Decoder};
use tidepool_rhythm::model_file;

fn models() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/models")
}

#[test]
fn the_committed_built_in_decoders_are_their_model_files_compacted() {
    for name in ["prototype", "model1", "model2", "model3"] {
        let file = std::fs::read(models().join(format!("rhythm-{name}.safetensors"))).unwrap();
        let model = model_file::read(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(model.decoder().arch(), Arch::from_name(name).unwrap());
        let info = model.training.as_ref().expect("training metadata");
        assert_eq!(info.epochs, 500, "{name}");
        assert_eq!(info.data_count, 3773, "{name}: the built-in corpus");
        let tprd = std::fs::read(models().join(format!("rhythm-{name}.tprd"))).unwrap();
        assert_eq!(
            tprd,
            model.decoder().to_compact(),
            "{name}: regenerate with tidepool rhythm compact"
        );
        // Somewhere near the corpus's points the decoder plays between 2 and 30 hits.
        let decoder = Decoder::from_compact(&tprd).unwrap();
        let mut out = Decoded::default();
        let played = (0..=20).flat_map(|i| (0..=20).map(move |j| [i as f32 * 0.5, j as f32 * 0.5]));
        let counts: Vec<usize> = played
            .map(|xy| {
                decoder.decode(xy, &mut out);
                out.prob.iter().filter(|p| **p >= 0.5).count()
            })
            .collect();
        assert!(
            counts.iter().any(|c| (2..=30).contains(c)),
            "{name}: {counts:?}"
        );
        // Model 2 as the paper specifies it collapses to one rhythm on this corpus (README:
        // Rhythm); the others answer the pad.
        if name != "model2" {
            assert!(
                counts.iter().min() != counts.iter().max(),
                "{name}: the pad changes the rhythm"
            );
        }
    }
}
