// A subscription as the application holds it, whatever transport carries it: the pattern, the handler, and each
// topic's position (the last message handed to the application, or where the subscription started). Transports
// (re)subscribe from these positions, and `accept` drops anything at or before them, so a resume shows the
// application no gap and no duplicate.

import { SwitchboardError } from './errors.js';
import { fromWire } from './messages.js';
import { base64ToBytes, base64url, isWildcard } from './util.js';

let counter = 0;

export class Subscription {
  #client;
  #resolveReady;
  #rejectReady;

  constructor(client, pattern, handler, options = {}) {
    if (typeof pattern !== 'string' || pattern.length === 0) throw new TypeError('subscribe needs a topic or pattern.');
    if (typeof handler !== 'function') throw new TypeError('subscribe needs a handler function.');
    this.#client = client;
    this.id = `s${++counter}`;
    this.pattern = pattern;
    this.wildcard = isWildcard(pattern);
    this.handler = handler;
    this.options = options;
    /** topic -> { epoch, offset }: the last message delivered (or the start) per topic. */
    this.positions = new Map();
    /** False until a start is known: `after` given, or "now" pinned by the client (see SwitchboardClient). */
    this.started = false;
    this.closed = false;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // the error also goes to onError / the client's 'error' event
    if (options.after !== undefined && options.after !== null) this.#startAfter(options.after);
  }

  #startAfter(after) {
    const text = String(after);
    if (text.startsWith('p1.')) {
      for (const [topic, position] of decodePositions(text)) this.positions.set(topic, position);
    } else if (/^\d+$/.test(text)) {
      const offset = Number(text);
      if (this.wildcard && offset !== 0) {
        throw new TypeError(`after: ${text} on the pattern ${this.pattern}: a wildcard subscription starts at 0 (everything retained) or at a position it reported (subscription.position).`);
      }
      if (offset > 0) this.positions.set(this.pattern, { epoch: null, offset });
    } else {
      const match = /^([0-9a-z]+):(\d+)$/.exec(text);
      if (!match) throw new TypeError(`after must be "epoch:offset", an offset, or a subscription's position; got ${text}.`);
      if (this.wildcard) throw new TypeError(`after: "${text}" names one topic's position; ${this.pattern} is a pattern (give 0 or subscription.position).`);
      this.positions.set(this.pattern, { epoch: match[1], offset: Number(match[2]) });
    }
    this.started = true;
  }

  /**
   * Where this subscription stands: "epoch:offset" for a topic (undefined before anything was seen there and the
   * topic did not exist), or for a pattern every topic's position in one token. Either is a valid `after`.
   */
  get position() {
    if (!this.wildcard) {
      const position = this.positions.get(this.pattern);
      return position ? (position.epoch ? `${position.epoch}:${position.offset}` : String(position.offset)) : undefined;
    }
    return this.token();
  }

  /** Every topic's position as the hub's multi-topic token (`p1.` + base64url of "topic epoch:offset" lines). */
  token() {
    let text = '';
    for (const [topic, { epoch, offset }] of [...this.positions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      text += `${topic} ${epoch ? `${epoch}:${offset}` : offset}\n`;
    }
    return `p1.${base64url(text)}`;
  }

  /**
   * A message from the hub. Delivered when it is after this topic's position (same epoch), or, when `strict`, only
   * when it is the very next one: on a WebSocket shared by overlapping subscriptions, a frame may belong to another
   * subscription further ahead, and this one's own stream brings every message in order.
   */
  accept(wire, strict = false) {
    if (this.closed) return false;
    const position = this.positions.get(wire.topic);
    if (position && (position.epoch === null || position.epoch === wire.epoch)) {
      if (wire.offset <= position.offset) return false; // seen already: a resume overlaps, or another subscription's copy
      if (strict && wire.offset !== position.offset + 1) return false;
    } else if (position && strict) {
      return false; // another incarnation: this subscription's own epoch-changed notice comes first
    } else if (!position && strict && wire.offset !== 1) {
      return false; // a topic new to this subscription starts at 1 (or after a missed notice)
    }
    this.positions.set(wire.topic, { epoch: wire.epoch, offset: wire.offset });
    const message = fromWire(wire);
    try {
      const result = this.handler(message);
      if (result && typeof result.then === 'function') result.then(undefined, (error) => this.#handlerFailed(error));
    } catch (error) {
      this.#handlerFailed(error);
    }
    return true;
  }

  #handlerFailed(error) {
    this.#client.emit('error', Object.assign(error instanceof Error ? error : new Error(String(error)), { subscription: this }));
  }

  /** A notice from the hub (`missed`, `epoch-changed`, `topic-deleted`): positions follow it, the application hears of it. */
  notice(notice) {
    if (this.closed) return;
    if (notice.kind === 'missed') {
      const position = this.positions.get(notice.topic);
      if (!position || position.epoch === notice.epoch || position.epoch === null) {
        if (!position || position.offset < notice.toOffset) this.positions.set(notice.topic, { epoch: notice.epoch, offset: notice.toOffset });
      }
    } else if (notice.kind === 'epoch-changed') {
      this.positions.set(notice.topic, { epoch: notice.epoch, offset: 0 });
    }
    const event = { ...notice, subscription: this };
    this.options.onNotice?.(event);
    this.#client.emit('notice', event);
  }

  /** The hub confirmed the subscription (the first time: `ready` resolves). */
  confirmed() {
    this.#resolveReady(this);
  }

  /** The hub refused the subscription: it ends, `ready` rejects, onError / the client's 'error' event hear why. */
  failed(error) {
    if (this.closed) return;
    this.closed = true;
    this.#rejectReady(error);
    this.#client.forget(this);
    error.subscription = this;
    if (this.options.onError) this.options.onError(error);
    else this.#client.emit('error', error);
  }

  /** Stops the subscription (on the hub too when connected). */
  async unsubscribe() {
    if (this.closed) return;
    this.closed = true;
    this.#rejectReady(new SwitchboardError('closed', 'The subscription was ended before the hub confirmed it.'));
    await this.#client.forget(this);
  }
}

/** The positions in a multi-topic token (what the hub's SSE ids and `subscription.position` hold). */
export function decodePositions(token) {
  const text = new TextDecoder().decode(base64ToBytes(token.slice(3)));
  const positions = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [topic, position] = line.split(' ');
    const colon = position.lastIndexOf(':');
    positions.set(topic, colon < 0 ? { epoch: null, offset: Number(position) } : { epoch: position.slice(0, colon), offset: Number(position.slice(colon + 1)) });
  }
  return positions;
}
