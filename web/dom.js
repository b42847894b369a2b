// The one DOM helper the panels need: an element with a class and text, never HTML, so nothing
// from a URL or a device name can become markup.

export function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text !== undefined) el.textContent = text;
  return el;
}
