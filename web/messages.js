// The #messages box: says what part of a shared link (or a preset file) could not be used, in the
// codec's words.
// Everything here is built with textContent: the messages quote the URL, which is untrusted.

/**
 * Shows `errors` (strings like "bpm: `fast` is not …") in `box`, or hides it when there are none.
 * `source` names where the patch came from ("this link", "“Name” (a preset)", "the file x.txt").
 */
export function showPatchErrors(box, errors, source = "this link") {
  box.replaceChildren();
  box.hidden = errors.length === 0;
  if (box.hidden) return;
  const intro = document.createElement("p");
  intro.textContent = errors.length === 1
    ? `One setting in ${source} was ignored; everything else was loaded:`
    : `${errors.length} settings in ${source} were ignored; everything else was loaded:`;
  const list = document.createElement("ul");
  for (const error of errors) {
    const item = document.createElement("li");
    item.textContent = error;
    list.append(item);
  }
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.className = "dismiss";
  dismiss.textContent = "Dismiss";
  dismiss.addEventListener("click", () => showPatchErrors(box, []));
  box.append(intro, list, dismiss);
}
