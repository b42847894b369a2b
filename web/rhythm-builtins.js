// The built-in rhythm models' decoders (web/models/rhythm-<name>.tprd, the compact bytes of
// Decoder::to_compact, a few kilobytes each): fetched the first time a playing track needs one,
// then handed to the worklet. Only tracks that are on ask, so a page whose rhythm tracks are
// off fetches nothing.

export const BUILTIN_MODELS = ["prototype", "model1", "model2", "model3"];

const cache = new Map();

/** The bytes of built-in model `name` (an ArrayBuffer, a fresh copy each call: it is transferred). */
export async function builtinBytes(name) {
  if (!BUILTIN_MODELS.includes(name)) throw new Error(`there is no built-in rhythm model called ${name}`);
  if (!cache.has(name)) {
    const file = `rhythm-${name}.tprd`;
    const bytes = (async () => {
      let response;
      try {
        response = await fetch(new URL(`./models/${file}`, import.meta.url));
      } catch (e) {
        throw new Error(`${file} could not be fetched (${e.message || e})`);
      }
      if (!response.ok) throw new Error(`${file}: the server answered ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    })();
    cache.set(name, bytes);
    bytes.catch(() => cache.delete(name));
  }
  return (await cache.get(name)).slice().buffer;
}

/** The built-in names among `models` (patch model strings) of the tracks `on[k]` says play. */
export function neededBuiltins(models, on) {
  return [...new Set(models.filter((m, k) => on[k] && BUILTIN_MODELS.includes(m)))];
}

/**
 * `{name: ArrayBuffer}` for the built-ins `names`, and `{name: message}` for those that could not
 * be fetched (the tracks using them stay silent; the rest plays).
 */
export async function fetchBuiltins(names) {
  const bytes = {};
  const failed = {};
  await Promise.all(names.map(async (name) => {
    try {
      bytes[name] = await builtinBytes(name);
    } catch (e) {
      failed[name] = e.message;
    }
  }));
  return { bytes, failed };
}
