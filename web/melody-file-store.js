// The musician's melody model file kept in the browser (IndexedDB: a 3 × 512 model is several
// megabytes, more than localStorage holds), so a reload, or a link with mel.model=file opened
// again on this machine, finds it. One file: the last one accepted.

// A database of its own: the recorder's ("tidepool", web/recorder.js) is created at version 1 with
// only its store, and a second store in it would need both to agree on a version upgrade.
const DB = "tidepool-melody-file";
const STORE = "melody-file";
const KEY = "current";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run(mode, action) {
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = action(tx.objectStore(STORE));
    tx.oncomplete = () => {
      db.close();
      resolve(request.result);
    };
    tx.onerror = tx.onabort = () => {
      db.close();
      reject(tx.error);
    };
  }));
}

/** The stored file `{name, bytes: Uint8Array}`, or null (none, or storage unavailable). */
export async function loadFile() {
  try {
    const stored = await run("readonly", (store) => store.get(KEY));
    return stored && typeof stored.name === "string" && stored.bytes instanceof Uint8Array ? stored : null;
  } catch {
    return null;
  }
}

/** Keeps `{name, bytes}`; returns null, or why it could not be kept (the page says so). */
export async function saveFile(name, bytes) {
  try {
    await run("readwrite", (store) => store.put({ name, bytes }, KEY));
    return null;
  } catch (e) {
    return e?.message || String(e);
  }
}
