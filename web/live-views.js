// The live views fed by the worklet: the LFO scope, the neuron heat map, the arpeggiator's p per
// note (ReMi's Fig. 2), the recent notes and the load meter. Snapshots arrive about 30 times a
// second; drawing happens at most once per animation frame.

import { ArpView } from "./arp-view.js";
import { Meter } from "./meter.js";
import { NeuronView } from "./neuron-view.js";
import { RecentNotes } from "./recent-notes.js";
import { ScopeView } from "./scope-view.js";

export class LiveViews {
  /** `elements`: {scope, neurons, arp, recent, meter}; `layout`: engine.js's `snapshotLayout()`. */
  constructor(elements, layout) {
    this.layout = layout;
    this.scope = new ScopeView(elements.scope);
    this.neurons = new NeuronView(elements.neurons, layout.neuronCount);
    this.arp = new ArpView(elements.arp);
    this.recent = new RecentNotes(elements.recent);
    this.meter = new Meter(elements.meter);
    this.drawQueued = false;
  }

  /** Labels that follow the patch: how many LFO outputs, where they go, the arpeggiator mode. */
  describe(state) {
    const choice = (key) => state.spec(key).choices[state.value(key)];
    this.scope.configure(state.value("lfo.outs"), [1, 2, 3, 4].map((k) => choice(`lfo.dest${k}`)));
    this.arp.setMode(choice("arp.mode"));
    this.queueDraw();
  }

  /** A "view" event's data; `sampleRate` turns its context frame into seconds. */
  snapshot({ frame, view, load }, sampleRate) {
    const at = this.layout;
    const time = frame / sampleRate;
    this.scope.push(time, view.subarray(at.lfo, at.lfo + at.lfoCount));
    this.neurons.push(view.subarray(at.neurons, at.neurons + at.neuronCount));
    const count = Math.min(at.maxEntries, Math.max(0, Math.round(view[at.entries])));
    this.arp.push(time, view.subarray(at.pitches, at.pitches + count), view.subarray(at.probs, at.probs + count));
    this.meter.update(load, Math.round(view[at.status.sounding]));
    this.queueDraw();
  }

  /** Decoded notes (notes.js) the engine played. */
  played(notes, sampleRate) {
    for (const n of notes) {
      if (n.velocity === 0) continue;
      this.recent.add(n.pitch);
      if (n.source === "arp") this.arp.choose(n.frame / sampleRate, n.pitch);
    }
  }

  queueDraw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      this.scope.redraw();
      this.neurons.redraw();
      this.arp.redraw();
    });
  }
}
