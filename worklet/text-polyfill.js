// AudioWorkletGlobalScope has no TextDecoder/TextEncoder, and the wasm-bindgen glue creates both
// when it loads. Strings only cross at construction and for patch errors, so a small UTF-8
// codec is enough. Imported before the glue.

class Utf8Decoder {
  decode(bytes) {
    if (!bytes) return "";
    let out = "";
    for (let i = 0; i < bytes.length; ) {
      const b = bytes[i++];
      let cp = b;
      if (b >= 0xf0) cp = ((b & 7) << 18) | ((bytes[i++] & 63) << 12) | ((bytes[i++] & 63) << 6) | (bytes[i++] & 63);
      else if (b >= 0xe0) cp = ((b & 15) << 12) | ((bytes[i++] & 63) << 6) | (bytes[i++] & 63);
      else if (b >= 0xc0) cp = ((b & 31) << 6) | (bytes[i++] & 63);
      out += String.fromCodePoint(cp);
    }
    return out;
  }
}

class Utf8Encoder {
  encode(text = "") {
    const out = [];
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      if (cp < 0x80) out.push(cp);
      else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
      else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
      else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    }
    return new Uint8Array(out);
  }
  encodeInto(text, view) {
    const bytes = this.encode(text);
    const n = Math.min(bytes.length, view.length);
    view.set(bytes.subarray(0, n));
    return { read: text.length, written: n };
  }
}

if (typeof globalThis.TextDecoder === "undefined") globalThis.TextDecoder = Utf8Decoder;
if (typeof globalThis.TextEncoder === "undefined") globalThis.TextEncoder = Utf8Encoder;
