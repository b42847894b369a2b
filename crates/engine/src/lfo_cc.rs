//! The LFO's outputs sent out as MIDI control changes, as ReMi's LFO plugin modulates a DAW's
//! synths: each output with a CC number set goes out on the LFO CC channel, 7-bit, only when its
//! value changes and at most every [`MIN_INTERVAL_S`] per output.
//!
//! Why 10 ms: a DIN MIDI cable carries 3125 bytes per second and a control change takes 3, so
//! four outputs at their fastest (400 messages per second) use 38 % of it and leave the rest to
//! the notes and the clock; 100 updates per second is as smooth as a 7-bit value can move anyway.

use crate::events::MidiEvent;
use crate::params::{ParamId, ParamValues};
use tidepool_reservoir::MAX_LFO_OUTPUTS;

/// Shortest time between two messages of one output.
pub const MIN_INTERVAL_S: f64 = 0.010;

const CC_PARAMS: [ParamId; MAX_LFO_OUTPUTS] = [
    ParamId::LfoCc1,
    ParamId::LfoCc2,
    ParamId::LfoCc3,
    ParamId::LfoCc4,
];

/// What was last sent per output: fixed-size, so sending never allocates.
#[derive(Clone, Debug)]
pub struct LfoCc {
    min_frames: u64,
    /// (channel, controller, value) last sent per output, and when.
    last: [Option<(u8, u8, u8)>; MAX_LFO_OUTPUTS],
    last_frame: [u64; MAX_LFO_OUTPUTS],
}

impl LfoCc {
    pub fn new(sample_rate: f64) -> Self {
        Self {
            min_frames: libm::ceil(sample_rate * MIN_INTERVAL_S) as u64,
            last: [None; MAX_LFO_OUTPUTS],
            last_frame: [0; MAX_LFO_OUTPUTS],
        }
    }

    /// Sends, at `frame`, the outputs (`values`, 0..1) whose 7-bit value changed since they were
    /// last sent, unless that was less than the minimum interval ago. A changed CC number or
    /// channel sends at once.
    pub fn update(
        &mut self,
        frame: u64,
        values: &[f32; MAX_LFO_OUTPUTS],
        params: &ParamValues,
        mut send: impl FnMut(MidiEvent),
    ) {
        let outputs = params.index(ParamId::LfoOutputs).min(MAX_LFO_OUTPUTS);
        let channel = (params.index(ParamId::LfoCcChannel).clamp(1, 16) - 1) as u8;
        for (i, id) in CC_PARAMS.iter().enumerate() {
            let controller = params.index(*id).min(127) as u8;
            if controller == 0 || i >= outputs {
                self.last[i] = None;
                continue;
            }
            let value = libm::roundf(values[i].clamp(0.0, 1.0) * 127.0) as u8;
            let now = (channel, controller, value);
            let due = match self.last[i] {
                None => true,
                Some(last) if last == now => false,
                Some((ch, cc, _)) if (ch, cc) != (channel, controller) => true,
                Some(_) => frame >= self.last_frame[i] + self.min_frames,
            };
            if due {
                self.last[i] = Some(now);
                self.last_frame[i] = frame;
                send(MidiEvent::new(frame, &[0xB0 | channel, controller, value]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(cc1: f64, outs: f64) -> ParamValues {
        let mut p = ParamValues::default();
        p.set(ParamId::LfoCc1, cc1);
        p.set(ParamId::LfoOutputs, outs);
        p.set(ParamId::LfoCcChannel, 3.0);
        p
    }

    fn run(values: &[f32], every: u64, p: &ParamValues) -> Vec<MidiEvent> {
        let mut cc = LfoCc::new(48000.0);
        let mut out = Vec::new();
        for (k, v) in values.iter().enumerate() {
            let mut all = [0.0; MAX_LFO_OUTPUTS];
            all[0] = *v;
            cc.update(k as u64 * every, &all, p, |e| out.push(e));
        }
        out
    }

    #[test]
    fn sends_only_changes_on_its_channel() {
        let out = run(&[0.5, 0.5, 0.5, 1.0, 1.0], 480, &params(74.0, 2.0));
        let messages: Vec<_> = out
            .iter()
            .map(|e| (e.frame, e.message().to_vec()))
            .collect();
        assert_eq!(
            messages,
            [(0, vec![0xB2, 74, 64]), (1440, vec![0xB2, 74, 127])]
        );
    }

    #[test]
    fn rate_limited_to_one_per_10_ms() {
        // A value changing every 16 frames for one second at 48 kHz: at most 100 messages.
        let values: Vec<f32> = (0..3000).map(|k| (k % 128) as f32 / 127.0).collect();
        let out = run(&values, 16, &params(1.0, 1.0));
        assert!(out.len() <= 101 && out.len() >= 95, "{}", out.len());
        for pair in out.windows(2) {
            assert!(pair[1].frame - pair[0].frame >= 480);
        }
    }

    #[test]
    fn off_or_beyond_the_outputs_sends_nothing() {
        assert!(run(&[0.1, 0.9], 480, &params(0.0, 2.0)).is_empty());
        let mut p = params(0.0, 1.0);
        p.set(ParamId::LfoCc2, 20.0);
        let mut cc = LfoCc::new(48000.0);
        let mut out = Vec::new();
        cc.update(0, &[0.3, 0.6, 0.0, 0.0], &p, |e| out.push(e));
        assert!(out.is_empty(), "output 2 is not in use with one output");
    }
}
