//! The wasm build against the committed golden render, through the exported `WasmEngine`.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p tidepool-wasm --target wasm32-unknown-unknown`
//! runs these in headless Chromium (webdriver.json at the workspace root holds the flags); a
//! plain `cargo test -p tidepool-wasm` runs the same tests natively. Both must reproduce
//! `tests/golden/scenario_48k.*` (written by the engine's native `golden` test) bit for bit.

use tidepool_engine::render::{golden_scenario, parse_notes_file};
use tidepool_engine::Input;
use tidepool_wasm::{WasmEngine, BLOCK_FRAMES};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

static GOLDEN_AUDIO: &[u8] = include_bytes!("../../../tests/golden/scenario_48k.f32");
static GOLDEN_NOTES: &str = include_str!("../../../tests/golden/scenario_48k.notes.json");

/// The buffers' content after `process` returned `n`.
fn block(engine: &WasmEngine, n: usize) -> (&[f32], &[f32]) {
    assert!(n <= BLOCK_FRAMES);
    // SAFETY: both pointers address BLOCK_FRAMES f32s owned by `engine`, which the returned
    // slices borrow, and `process` wrote the first `n` of them.
    unsafe {
        (
            std::slice::from_raw_parts(engine.left_ptr(), n),
            std::slice::from_raw_parts(engine.right_ptr(), n),
        )
    }
}

/// Notes as `[frame, pitch, velocity]`, from `notes_flat`'s five numbers per note.
fn unflatten(flat: &[u32]) -> Vec<[u64; 3]> {
    assert_eq!(flat.len() % 5, 0);
    flat.chunks_exact(5)
        .map(|c| {
            assert!(c[4] <= 1, "source is 0 (keys) or 1 (arp)");
            [c[0] as u64 | (c[1] as u64) << 32, c[2] as u64, c[3] as u64]
        })
        .collect()
}

/// Renders the golden scenario through the exports, 128 frames at a time as the worklet does.
/// Returns interleaved stereo and the notes.
fn render_golden() -> (Vec<f32>, Vec<[u64; 3]>) {
    let (patch, events, sample_rate, frames) = golden_scenario();
    let mut engine = WasmEngine::new(sample_rate, &patch.to_text());
    assert!(
        engine.patch_errors().is_empty(),
        "{:?}",
        engine.patch_errors()
    );
    for e in &events {
        let frame = e.frame as f64;
        let queued = match e.input {
            Input::NoteOn { pitch, velocity } => {
                engine.note_on(frame, pitch as u32, velocity as u32)
            }
            Input::NoteOff { pitch } => engine.note_off(frame, pitch as u32),
            Input::Sustain(down) => engine.sustain(frame, down),
            Input::AllNotesOff => engine.all_notes_off(frame),
            Input::SetParam { id, value } => engine.set_param(frame, id.spec().key, value),
            Input::Clock(_) => unreachable!("the golden scenario has no clock"),
        };
        assert!(queued, "{e:?} was refused");
    }
    let mut audio = Vec::with_capacity(2 * frames);
    let mut notes = Vec::new();
    while audio.len() < 2 * frames {
        let want = (frames - audio.len() / 2).min(BLOCK_FRAMES);
        let n = engine.process(want);
        assert_eq!(n, want);
        let (l, r) = block(&engine, n);
        audio.extend(l.iter().zip(r).flat_map(|(l, r)| [*l, *r]));
        notes.extend(unflatten(&engine.notes_flat()));
        assert!(
            !engine.rebuild_pending(),
            "the golden scenario has no network change"
        );
    }
    assert_eq!(engine.frame(), frames as f64);
    (audio, notes)
}

#[test]
fn golden_scenario_matches_the_committed_render_bit_for_bit() {
    let (audio, notes) = render_golden();
    let want: Vec<f32> = GOLDEN_AUDIO
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(want.len(), audio.len(), "golden and render lengths differ");
    let (mut differ, mut max_delta, mut first) = (0usize, 0.0f64, None);
    for (i, (got, want)) in audio.iter().zip(&want).enumerate() {
        if got.to_bits() != want.to_bits() {
            differ += 1;
            max_delta = max_delta.max((*got as f64 - *want as f64).abs());
            first.get_or_insert((i, *got, *want));
        }
    }
    assert!(
        differ == 0,
        "{differ} of {} samples differ from the golden render, max |Δ| = {max_delta:e}, first \
         (interleaved index, got, want) = {first:?}",
        audio.len()
    );
    assert_eq!(notes, parse_notes_file(GOLDEN_NOTES), "note events differ");
}

#[test]
fn a_bad_patch_reports_errors_and_still_plays() {
    let mut engine = WasmEngine::new(
        48000.0,
        "tp1&syn.cut=loud&nonsense=3&lfo.sr=1.3&arp.mode=up",
    );
    let errors = engine.patch_errors();
    assert!(errors.len() >= 2, "two bad fields: {errors:?}");
    assert!(errors.iter().any(|e| e.contains("syn.cut")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("nonsense")), "{errors:?}");
    // The good fields were kept.
    assert!(engine.patch_text().contains("&lfo.sr=1.3&"));
    assert!(engine.patch_text().contains("&arp.mode=up&"));
    assert!(!engine.set_param(0.0, "no.such.key", 1.0));
    assert!(engine.set_param(0.0, "syn.gain", 0.0));
    for pitch in [60, 64, 67] {
        assert!(engine.note_on(0.0, pitch, 100));
    }
    let mut peak = 0.0f32;
    for _ in 0..(48000 / BLOCK_FRAMES) {
        let n = engine.process(BLOCK_FRAMES);
        let (l, r) = block(&engine, n);
        peak = l.iter().chain(r).fold(peak, |m, s| m.max(s.abs()));
    }
    assert!(peak > 0.01, "no sound: peak {peak}");
    let notes = unflatten(&engine.notes_flat());
    assert!(
        notes.iter().any(|n| n[2] > 0),
        "the arpeggiator played nothing"
    );
    assert!(
        engine.notes_flat().is_empty(),
        "notes_flat forgets what it returned"
    );
}

#[test]
fn process_renders_more_than_a_block_in_chunks() {
    let mut engine = WasmEngine::new(44100.0, "");
    assert!(engine.patch_errors().is_empty());
    assert_eq!(engine.process(1000), 1000 - 7 * BLOCK_FRAMES);
    assert_eq!(engine.frame(), 1000.0);
    assert_eq!(engine.process(0), 0);
    assert_eq!(engine.frame(), 1000.0);
}

/// The worklet's order: a network-shaping parameter is queued and applied in the next block; the
/// network, built elsewhere (a worker) and staged from its bytes, is swapped in at the end of the
/// first block that finds the parameters asking for exactly its shape.
#[test]
fn staged_networks_swap_in_only_for_the_shape_the_patch_asks_for() {
    use tidepool_engine::{build_network_bytes, network_radius, Which};
    // What the network worker's `network_bytes` and `network_radius_of` (tools module) return.
    let bytes = |which: &str, n, c, seed: f64| {
        let which = match which {
            "lfo" => Which::Lfo,
            _ => Which::Arp,
        };
        let radius = network_radius(n, c, seed as u64);
        build_network_bytes(which, (n, c, seed as u64), radius)
    };
    let mut engine = WasmEngine::new(48000.0, "tp1&lfo.n=40");
    let installed_lfo = |e: &mut WasmEngine| {
        let len = e.snapshot();
        // SAFETY: view_ptr addresses `len` f32s owned by `e`, read before it changes.
        let view = unsafe { std::slice::from_raw_parts(e.view_ptr(), len) };
        view[tidepool_wasm::view::NETWORKS] as usize
    };
    engine.stage_network(&bytes("lfo", 50, 0.1, 1.0)).unwrap();
    engine.process(BLOCK_FRAMES);
    assert_eq!(installed_lfo(&mut engine), 40, "nothing asks for it yet");
    assert!(engine.set_param(0.0, "lfo.n", 50.0));
    assert_eq!(installed_lfo(&mut engine), 40);
    engine.process(BLOCK_FRAMES);
    assert_eq!(installed_lfo(&mut engine), 50, "swapped in after the block");
    assert!(!engine.rebuild_pending());
    assert!(engine.set_param(engine.frame(), "lfo.n", 60.0));
    engine.stage_network(&bytes("lfo", 70, 0.1, 1.0)).unwrap();
    engine.process(BLOCK_FRAMES);
    assert_eq!(
        installed_lfo(&mut engine),
        50,
        "a wrong shape is never installed"
    );
    assert!(engine.rebuild_pending());
    engine.stage_network(&bytes("lfo", 60, 0.1, 1.0)).unwrap();
    engine.process(BLOCK_FRAMES);
    assert_eq!(installed_lfo(&mut engine), 60);
    assert!(engine.set_param(engine.frame(), "arp.seed", 9.0));
    engine.stage_network(&bytes("arp", 100, 0.1, 9.0)).unwrap();
    engine.process(BLOCK_FRAMES);
    assert!(!engine.rebuild_pending());
    assert!(engine
        .stage_network(&bytes("arp", 100, 0.1, 9.0)[..100])
        .unwrap_err()
        .contains("end"));
    let n = engine.process(BLOCK_FRAMES);
    let (l, _) = block(&engine, n);
    assert!(l.iter().all(|v| v.is_finite()));
}

/// The tools module's exports for the network worker are the engine's functions; an unknown
/// network name is refused. Only with `--features tools` (the page's module has neither).
#[cfg(feature = "tools")]
#[test]
fn the_network_worker_exports_build_the_engine_networks() {
    use tidepool_engine::{build_network_bytes, network_radius, Which};
    use tidepool_wasm::{network_bytes, network_radius_of};
    let radius = network_radius_of(60, 0.2, 5.0);
    assert_eq!(radius.to_bits(), network_radius(60, 0.2, 5).to_bits());
    assert_eq!(
        network_bytes("arp", 60, 0.2, 5.0, radius).unwrap(),
        build_network_bytes(Which::Arp, (60, 0.2, 5), radius)
    );
    assert!(network_bytes("lfx", 10, 0.1, 1.0, f64::NAN).is_err());
}
