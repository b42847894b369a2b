//! One 128-frame engine block of the default patch (LFO N=300, arp N=100) with 8 voices sounding.

use criterion::{criterion_group, criterion_main, Criterion};
use tidepool_engine::{Engine, Input, InputEvent, ParamId, Patch};

fn engine_block(c: &mut Criterion) {
    let mut patch = Patch::default();
    // Long release and full sustain keep all 8 voices sounding under the arpeggio.
    patch.values.set(ParamId::SynthRelease, 10000.0);
    patch.values.set(ParamId::SynthSustain, 1.0);
    patch.values.set(ParamId::ArpOctaves, 2.0);
    let mut engine = Engine::new(48000.0, &patch);
    for pitch in [48, 52, 55, 59, 62, 64, 67, 71] {
        engine.push_event(InputEvent {
            frame: 0,
            input: Input::NoteOn {
                pitch,
                velocity: 100,
            },
        });
    }
    let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
    for _ in 0..400 {
        engine.process(&mut l, &mut r);
        engine.clear_notes();
    }
    assert_eq!(
        engine.status().sounding,
        8,
        "the benchmark needs 8 voices sounding"
    );
    c.bench_function("engine_block_128_default_patch_8_voices", |b| {
        b.iter(|| {
            engine.process(&mut l, &mut r);
            engine.clear_notes();
        })
    });
}

criterion_group!(benches, engine_block);
criterion_main!(benches);
