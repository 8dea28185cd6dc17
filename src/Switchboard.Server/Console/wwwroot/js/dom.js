// A few helpers to build the page without innerHTML (every value from the hub is set as text, never parsed as HTML).

/** h('div', { class: 'x', onclick: fn }, 'text', child…) */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A labelled input: h('label', {}, text, input). */
export function field(label, input, hint) {
  return h('label', {}, label, input, hint ? h('span', { class: 'muted' }, hint) : null);
}

/** A table from rows: columns = [{ title, value: row => text | Node, num }]. */
export function table(columns, rows, { caption, rowAttributes } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.title)))),
      h('tbody', {}, rows.length === 0
        ? h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, 'None.'))
        : rows.map((row) => h('tr', rowAttributes?.(row) ?? {}, columns.map((c) => h('td', { class: c.num ? 'num' : null }, c.value(row))))))));
}

/** Numbers as people read them. */
export function number(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  return Number(value).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A payload for display: JSON pretty-printed on one line, text as it is, bytes as a count. */
export function preview(payload, max = 300) {
  let text;
  if (payload instanceof Uint8Array) text = `${payload.length} bytes`;
  else if (typeof payload === 'string') text = payload;
  else text = JSON.stringify(payload);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Parses what the user typed as JSON, else keeps it as text. */
export function parsePayload(text) {
  try {
    return { json: true, value: JSON.parse(text) };
  } catch {
    return { json: false, value: text };
  }
}

/** Replaces `target`'s children, skipping null, undefined and false (what conditional parts leave). */
export function fill(target, ...children) {
  target.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return target;
}
