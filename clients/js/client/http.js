// REST calls to the hub: credentials on every request, problem+json turned into SwitchboardError, network failures
// into `connection-lost` (so callers can tell "the hub said no" from "the hub could not be reached").

import { SwitchboardError, connectionLost, fromResponse } from './errors.js';

export class Http {
  /**
   * @param {URL} base the hub's http(s) address
   * @param {object} options the client's options: token (string or function), apiKey, fetch, headers
   */
  constructor(base, options) {
    this.base = base;
    this.options = options;
    this.fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!this.fetch) throw new SwitchboardError('unsupported', 'No fetch(): pass options.fetch (Node 18+ and browsers have one).');
  }

  /** The credential to present now: the token (a function is called each time, so it can refresh) or the API key. */
  async credential() {
    const { token, apiKey } = this.options;
    if (typeof token === 'function') return { kind: 'token', value: await token() };
    if (token) return { kind: 'token', value: token };
    if (apiKey) return { kind: 'apiKey', value: apiKey };
    return undefined;
  }

  async authHeaders() {
    const credential = await this.credential();
    if (!credential?.value) return {};
    return credential.kind === 'apiKey' ? { 'X-Api-Key': credential.value } : { Authorization: `Bearer ${credential.value}` };
  }

  /** An absolute URL on the hub; `query` values that are undefined are left out, arrays repeat the name. */
  url(path, query = {}, protocol) {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + path, this.base);
    for (const [name, value] of Object.entries(query)) {
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
    }
    if (protocol) url.protocol = protocol;
    return url;
  }

  /**
   * One request. Resolves with the Response when it is 2xx (or 304, or a status listed in `accept`); rejects with
   * the hub's error otherwise, and with `connection-lost` when no answer came.
   */
  async request(method, path, { query, body, headers = {}, signal, accept = [], raw } = {}) {
    const init = { method, headers: { ...this.options.headers, ...(await this.authHeaders()), ...headers }, signal };
    if (body !== undefined) {
      if (raw) {
        init.body = body;
      } else {
        init.body = JSON.stringify(body);
        init.headers['Content-Type'] = 'application/json';
      }
    }
    let response;
    try {
      response = await this.fetch(this.url(path, query), init);
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      throw connectionLost(error, `${method} ${path} got no answer from the hub: ${error?.cause?.message || error?.cause?.code || error?.message || error}`);
    }
    if (response.ok || response.status === 304 || accept.includes(response.status)) return response;
    throw await fromResponse(response);
  }

  /** A request whose answer is JSON (undefined for 204). */
  async json(method, path, options) {
    const response = await this.request(method, path, options);
    if (response.status === 204 || response.status === 304) return undefined;
    const text = await readText(response, options?.signal);
    return text ? JSON.parse(text) : undefined;
  }
}

async function readText(response, signal) {
  try {
    return await response.text();
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    throw connectionLost(error, 'The hub\'s answer was cut off.');
  }
}

/** The path segment for a topic or queue name (names are URL-safe except for wildcards in bindings). */
export function segment(name) {
  return encodeURIComponent(name);
}
