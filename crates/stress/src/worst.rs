//! The worst-case patch: 1000-neuron reservoirs at full connectivity for both the LFO and the
//! arpeggiator, the LFO free-running at its top rate (1000 steps/s), the arpeggiator at its
//! fastest (1/64 at 300 BPM) over four octaves with long releases so every voice sounds, and the
//! melody LSTM playing. Measures the native real-time factor and the worst 128-frame quantum, and
//! prints how many multiply-adds a quantum costs and where they go.

use crate::host::{self, play, Blocks, Host, Watch};
use crate::{Check, Size};
use tidepool_engine::{Input, InputEvent, ParamId, Patch, MAX_VOICES};

pub const WORST_PATCH: &str = "tp1&bpm=300&lfo.n=1000&lfo.conn=1&lfo.sync=free&lfo.hz=1000\
    &lfo.outs=4&arp.n=1000&arp.conn=1&arp.mode=reservoir&arp.div=1/64&arp.gate=1&arp.oct=4\
    &syn.poly=16&syn.a=0.5&syn.r=10000&mel.mode=free&mel.model=lstm&mel.dens=100";

const RATE: f64 = 48000.0;
const QUANTUM: usize = 128;
/// Multiply-adds of one melody LSTM step (embedding 64 → 2 × LSTM 256 → 130).
const LSTM_MACS: f64 = 885_000.0;

/// Multiply-adds per quantum of `patch` with `entries` arpeggio entries, by part.
fn macs_per_quantum(patch: &Patch, entries: f64) -> Vec<(&'static str, f64)> {
    let v = &patch.values;
    let quantum_s = QUANTUM as f64 / RATE;
    let net = |n: ParamId, c: ParamId| {
        let n = v.get(n);
        (n, (v.get(c) * n).round().max(1.0))
    };
    let (ln, lk) = net(ParamId::LfoNeurons, ParamId::LfoConnectivity);
    let outs = v.get(ParamId::LfoOutputs);
    // W (N·K), input and bias, feedback of every output, readout of every output.
    let lfo_step = ln * lk + 2.0 * ln + 2.0 * ln * outs;
    let (an, ak) = net(ParamId::ArpNeurons, ParamId::ArpConnectivity);
    let arp_step = an * ak + an + 2.0 * an * entries;
    let beats_per_s = v.get(ParamId::Tempo) / 60.0;
    let arp_steps = beats_per_s / 0.0625 * quantum_s;
    let mel_steps = beats_per_s * 4.0 * quantum_s;
    // Per voice and frame: two oscillators, the filter (about 8), envelope and mix.
    let voices = (MAX_VOICES + 1) as f64 * 14.0 * QUANTUM as f64;
    vec![
        ("LFO", v.get(ParamId::LfoRate) * quantum_s * lfo_step),
        ("arp", arp_steps * arp_step),
        ("melody LSTM", mel_steps * LSTM_MACS),
        ("synth voices", voices),
    ]
}

pub fn check(host: &Host, size: Size, notes: &mut Vec<String>) -> Vec<Check> {
    let seconds = match size {
        Size::Ci => 4.0,
        Size::Long => 30.0,
    };
    let patch = Patch::parse(WORST_PATCH).patch;
    let mut engine = host.engine(RATE, &patch);
    host.preload(&mut engine);
    let keys = [36u8, 43, 48, 52, 55, 60, 64, 67];
    let events: Vec<InputEvent> = keys
        .iter()
        .map(|&pitch| InputEvent {
            frame: 0,
            input: Input::NoteOn {
                pitch,
                velocity: 100,
            },
        })
        .collect();
    let watch = Watch {
        time: true,
        allocs: true,
        ..Watch::default()
    };
    let frames = host::frames(seconds, RATE);
    let t = std::time::Instant::now();
    let p = play(
        host,
        &mut engine,
        &events,
        frames,
        Blocks::Fixed(QUANTUM),
        watch,
        &[],
    );
    let wall = t.elapsed().as_secs_f64();
    let busy: f64 = p.blocks.iter().map(|b| b.seconds).sum();
    let rtf = seconds / busy;
    let times: Vec<f64> = p.blocks.iter().map(|b| b.seconds).collect();
    let worst = times.iter().copied().fold(0.0, f64::max);
    let budget = QUANTUM as f64 / RATE;
    let sounding = engine.status().sounding;
    let entries = (keys.len() * 4).min(32) as f64;
    let parts = macs_per_quantum(&patch, entries);
    let total: f64 = parts.iter().map(|p| p.1).sum();
    notes.push(format!(
        "Worst-case patch, multiply-adds per {QUANTUM}-frame quantum at {RATE} Hz: {:.2} M ({})",
        total / 1e6,
        parts
            .iter()
            .map(|(what, m)| format!("{what} {:.3} M", m / 1e6))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    vec![Check::new(
        "worst case: native real-time factor",
        format!("{WORST_PATCH_SHORT}, {seconds} s"),
        rtf >= 1.0 && sounding >= MAX_VOICES && p.non_finite == 0 && p.allocations == 0,
        format!(
            "RTF {rtf:.2}× (process time {:.0} ms, wall {:.0} ms), worst quantum {:.0} µs = \
             {:.0}% of {:.0} µs, median {:.0} µs; {sounding} voices sounding, {} notes, \
             {:.2} M multiply-adds a quantum, {} allocations",
            busy * 1e3,
            wall * 1e3,
            worst * 1e6,
            100.0 * worst / budget,
            budget * 1e6,
            host::median(&times) * 1e6,
            p.notes.len(),
            total / 1e6,
            p.allocations
        ),
    )]
}

const WORST_PATCH_SHORT: &str =
    "2×1000 neurons at conn 1, LFO free 1000/s, arp 1/64 at 300 BPM, LSTM, 16 voices";
