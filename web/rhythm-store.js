// The rhythm panel's last session in the browser's storage: the user's data set (as the
// data-set JSON) and each track's trained model (its decoder text, model file and scatter), so a
// reload finds them again. The models also travel in the URL; this adds their scatter and file.

const KEY = "tidepool.rhythm.v1";

const toBase64 = (bytes) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/**
 * `{data: JSON text or null, trained: [{text, arch, training, file: Uint8Array, points:
 * Float32Array, velocities: Uint8Array, sources: [string]} | null ×3]}`.
 */
export function loadSession() {
  const empty = { data: null, trained: [null, null, null] };
  let stored;
  try {
    stored = JSON.parse(localStorage.getItem(KEY) ?? "null");
  } catch {
    return empty;
  }
  if (!stored || typeof stored !== "object") return empty;
  const trained = [0, 1, 2].map((k) => {
    const t = stored.trained?.[k];
    if (!t || typeof t.text !== "string" || !t.text.startsWith("~")) return null;
    const model = {
      text: t.text, arch: String(t.arch ?? ""), training: t.training ?? {}, file: new Uint8Array(0),
      points: new Float32Array(0), velocities: new Uint8Array(0), sources: [],
    };
    try {
      model.file = fromBase64(t.file);
      const points = fromBase64(t.points);
      const velocities = fromBase64(t.velocities);
      const n = points.length / 8;
      // A scatter is kept only whole: n points, 32 velocities and a source each.
      if (Number.isInteger(n) && velocities.length === 32 * n && Array.isArray(t.sources) && t.sources.length === n) {
        model.points = new Float32Array(points.buffer);
        model.velocities = velocities;
        model.sources = t.sources.map(String);
      }
    } catch {
      // A damaged entry: the model still plays from its text, without a file or scatter.
    }
    return model;
  });
  return { data: typeof stored.data === "string" ? stored.data : null, trained };
}

/**
 * Saves the session; returns null, or why it could not be saved (storage full or refused): the
 * page says so, and everything keeps working for this visit.
 */
export function saveSession({ data, trained }) {
  const value = {
    data,
    trained: trained.map((t) => t && {
      text: t.text,
      arch: t.arch,
      training: t.training,
      file: toBase64(t.file ?? new Uint8Array(0)),
      points: toBase64(new Uint8Array((t.points ?? new Float32Array(0)).slice().buffer)),
      velocities: toBase64(t.velocities ?? new Uint8Array(0)),
      sources: t.sources ?? [],
    }),
  };
  try {
    localStorage.setItem(KEY, JSON.stringify(value));
    return null;
  } catch (e) {
    return e.message || String(e);
  }
}
