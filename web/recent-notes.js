// The last notes the engine chose (the arpeggiator's, or the keys' when it is off), as note
// names in #recent-notes: ReMi's arpeggio as text, readable by a screen reader on request.

import { noteName } from "./notes.js";

export class RecentNotes {
  constructor(element, count = 16) {
    this.element = element;
    this.count = count;
    this.names = [];
  }

  add(pitch) {
    this.names.push(noteName(pitch));
    if (this.names.length > this.count) this.names.shift();
    this.element.textContent = this.names.join(" ");
  }
}
