// A subscription as the application holds it, whatever transport carries it: the pattern, the handler, each topic's
// position (the last message handed to the application, or where the subscription started) and the hub's own resume
// token for them. SSE ids and the multi-topic poll's `next` are such tokens (p1. while small, p2. beyond: a snapshot
// the hub stores), so a resume on those transports sends the hub's token as it was given, small for any number of
// topics; the WebSocket carries none, so there the positions the client kept make a p1. token. `accept` drops anything
// at or before a topic's position, so a resume shows the application no gap and no duplicate.

import { SwitchboardError } from './errors.js';
import { fromWire } from './messages.js';
import { base64ToBytes, base64url, isWildcard } from './util.js';

let counter = 0;

export class Subscription {
  #client;
  #resolveReady;
  #rejectReady;

  /** The hub's resume token for where this subscription stands (null while it has none): an SSE id, a poll's next, an `after`. */
  #token = null;
  /** Topics whose position moved after #token was given (messages over a transport that carries no token). */
  #moved = new Set();
  /** False when the start was a token the client cannot read (p2.): positions then hold only the topics seen since. */
  #complete = true;

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

  /**
   * Reads `after`. An offset or "epoch:offset" is read here (and its misuse on a pattern refused at once); a multi-topic
   * token is the hub's own and is sent back as it is: a p1. one also gives the positions it holds, while anything else
   * (a p2. token, which names a snapshot only the hub can read, or a token this client does not know) is left for the
   * hub to judge, so a damaged or expired one fails the subscription with the hub's own reason.
   */
  #startAfter(after) {
    const text = String(after);
    if (text.trim() === '') throw new TypeError('after is empty: give a position (or 0 for everything retained), or leave it out to start from now.');
    if (/^\d+$/.test(text)) {
      const offset = Number(text);
      if (this.wildcard && offset !== 0) {
        throw new TypeError(`after: ${text} on the pattern ${this.pattern}: a wildcard subscription starts at 0 (everything retained) or at a position it reported (subscription.position).`);
      }
      if (offset > 0) this.positions.set(this.pattern, { epoch: null, offset });
    } else if (/^[0-9a-z]+:\d+$/.test(text)) {
      if (this.wildcard) throw new TypeError(`after: "${text}" names one topic's position; ${this.pattern} is a pattern (give 0 or subscription.position).`);
      const colon = text.lastIndexOf(':');
      this.positions.set(this.pattern, { epoch: text.slice(0, colon), offset: Number(text.slice(colon + 1)) });
    } else {
      const positions = text.startsWith('p1.') ? decodePositions(text) : null;
      for (const [topic, position] of positions ?? []) this.positions.set(topic, position);
      this.#token = text;
      this.#complete = positions !== null;
    }
    this.started = true;
  }

  /**
   * Where this subscription stands: "epoch:offset" for a topic (undefined before anything was seen there and the
   * topic did not exist), or for a pattern every topic's position in one token (the hub's own where it gave one).
   * Either is a valid `after`.
   */
  get position() {
    if (!this.wildcard) {
      const position = this.positions.get(this.pattern);
      return position ? (position.epoch ? `${position.epoch}:${position.offset}` : String(position.offset)) : (this.#token ?? undefined);
    }
    return this.resumeToken();
  }

  /**
   * The multi-topic token to resume with: the hub's own while nothing moved since it was given; else every topic's
   * position, built here (`p1.` + base64url of "topic epoch:offset" lines). A start the client cannot read (p2.) has no
   * such list: its token is sent, and the hub brings the moved topics again from there, which `accept` drops as seen.
   */
  resumeToken() {
    if (this.#token !== null && (this.#moved.size === 0 || !this.#complete)) return this.#token;
    let text = '';
    for (const [topic, { epoch, offset }] of [...this.positions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      text += `${topic} ${epoch ? `${epoch}:${offset}` : offset}\n`;
    }
    return `p1.${base64url(text)}`;
  }

  /**
   * True when only the multi-topic forms (GET /v1/events, GET /v1/messages?topic=) can carry this subscription's start:
   * a pattern, or a topic that starts at a token the client cannot read.
   */
  get multiTopic() {
    return this.wildcard || (this.#token !== null && !this.positions.has(this.pattern));
  }

  /** The hub gave a token for where the stream stands now (an SSE id without an event, an empty poll's `next`). */
  advance(token) {
    if (this.closed || !token) return;
    this.#token = token;
    this.#moved.clear();
  }

  /**
   * A message from the hub. Delivered when it is after this topic's position (same epoch), or, when `strict`, only
   * when it is the very next one: on a WebSocket shared by overlapping subscriptions, a frame may belong to another
   * subscription further ahead, and this one's own stream brings every message in order.
   */
  accept(wire, strict = false, token = undefined) {
    if (this.closed) return false;
    const position = this.positions.get(wire.topic);
    if (position && (position.epoch === null || position.epoch === wire.epoch)) {
      if (wire.offset <= position.offset) {
        this.advance(token); // seen already (a resume overlaps, or another subscription's copy): the hub's token still holds
        return false;
      }
      if (strict && wire.offset !== position.offset + 1) return false;
    } else if (position && strict) {
      return false; // another incarnation: this subscription's own epoch-changed notice comes first
    } else if (!position && strict && wire.offset !== 1 && this.#complete) {
      // A topic new to this subscription starts at 1 (or after a missed notice). After a start only the hub can read,
      // where this topic stood is unknown here: its first message is taken.
      return false;
    }
    this.positions.set(wire.topic, { epoch: wire.epoch, offset: wire.offset });
    if (token) this.advance(token);
    else this.#moved.add(wire.topic);
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

  /**
   * A notice from the hub (`missed`, `epoch-changed`, `topic-deleted`, `resume-expired`): positions follow it, the
   * application hears of it.
   */
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

/**
 * The positions in a `p1.` token (what small SSE ids and polls' `next` hold), or null when it is not one this client
 * can read: such a token goes to the hub as it is, and the hub says what is wrong with it.
 */
export function decodePositions(token) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(base64ToBytes(token.slice(3)));
  } catch {
    return null;
  }
  const positions = new Map();
  for (const line of text.split('\n')) {
    if (!line) continue;
    const match = /^(\S+) (?:([0-9a-z]+):)?(\d+)$/.exec(line);
    if (!match) return null;
    positions.set(match[1], { epoch: match[2] ?? null, offset: Number(match[3]) });
  }
  return positions;
}
