// Talking to the hub: the signed-in credential, REST calls that turn problem+json into errors the page can show, and the
// options the JavaScript client (/client.js) needs to connect with the same credential.

const storageKey = 'switchboard.console.credential';

/** The credential for this tab: { kind: 'apiKey' | 'token', value } or null (an open hub needs none). */
export function credential() {
  try {
    return JSON.parse(sessionStorage.getItem(storageKey) ?? 'null');
  } catch {
    return null;
  }
}

export function signIn(kind, value) {
  sessionStorage.setItem(storageKey, JSON.stringify({ kind, value }));
}

export function signOut() {
  sessionStorage.removeItem(storageKey);
}

/** Options for connect() from /client.js, carrying the credential. */
export function clientOptions(extra = {}) {
  const c = credential();
  if (!c) return { ...extra };
  return c.kind === 'apiKey' ? { apiKey: c.value, ...extra } : { token: c.value, ...extra };
}

/** A URL for EventSource (which cannot send headers): the credential goes in ?access_token=, as the hub accepts on streams. */
export function streamUrl(path) {
  const c = credential();
  if (!c) return path;
  return `${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(c.value)}`;
}

/** An error from the hub: its problem+json (title, detail, status, code) when there was one. */
export class HubError extends Error {
  constructor(status, problem, fallback) {
    super(problem?.detail || problem?.title || fallback || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.code = problem?.code;
  }
}

/** A REST call: JSON in and out; rejects with HubError carrying the hub's problem. */
export async function api(method, path, body, { headers = {}, signal } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const c = credential();
  if (c) h[c.kind === 'apiKey' ? 'X-Api-Key' : 'Authorization'] = c.kind === 'apiKey' ? c.value : `Bearer ${c.value}`;
  let payload;
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers: h, body: payload, signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new HubError(0, null, `The hub did not answer (${error.message}).`);
  }
  const text = await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) throw new HubError(response.status, json, text.slice(0, 200));
  return json;
}

/** Shows an error as the hub said it (title, detail, status), in place of `target`'s content or appended to it. */
export function showProblem(target, error, { replace = false } = {}) {
  const box = document.createElement('div');
  box.className = 'problem';
  box.setAttribute('role', 'alert');
  const title = document.createElement('strong');
  const problem = error instanceof HubError ? error.problem : null;
  title.textContent = problem?.title ? `${problem.title}${error.status ? ` (${error.status})` : ''}` : 'Something went wrong';
  const detail = document.createElement('p');
  detail.textContent = problem?.detail ?? error.message ?? String(error);
  detail.style.margin = '.3rem 0 0';
  box.append(title, detail);
  if (problem?.code) {
    const code = document.createElement('code');
    code.textContent = problem.code;
    box.append(code);
  }
  if (replace) target.replaceChildren(box);
  else target.append(box);
  return box;
}

/** Removes the problems shown in `target`. */
export function clearProblems(target) {
  for (const box of target.querySelectorAll(':scope > .problem, :scope > .ok')) box.remove();
}

/** Says something to screen readers (and keeps it on the page in a live region). */
export function announce(text) {
  const region = document.getElementById('announce');
  if (region) region.textContent = text;
}
