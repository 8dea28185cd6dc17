// The client: picks a transport (falling back in order), reconnects with backoff and jitter, resubscribes every
// subscription from its positions, and retries publishes in flight with their idempotency keys.

import { SwitchboardError, isLost } from './errors.js';
import { Http, segment } from './http.js';
import { LongPollingTransport } from './longpoll.js';
import { envelope } from './messages.js';
import { Queues } from './queues.js';
import { SseTransport } from './sse.js';
import { Subscription } from './subscription.js';
import { Emitter, backoff, literalPrefix, matches, newId, sleep } from './util.js';
import { WebSocketTransport } from './ws.js';

const TRANSPORTS = { websocket: WebSocketTransport, sse: SseTransport, longpolling: LongPollingTransport };

const DEFAULTS = {
  transports: ['websocket', 'sse', 'longpolling'],
  // First retry after about a quarter second (a blip), doubling to 10 s: a restarting hub is back within seconds,
  // and a crowd of clients does not hammer one that is not.
  reconnectDelay: 250,
  maxReconnectDelay: 10_000,
  maxReconnectAttempts: Infinity,
  connectTimeout: 10_000,
  // The hub's idempotency window is 2 minutes: a publish retried later than that could be stored twice.
  publishTimeout: 60_000,
  heartbeatInterval: 15_000,
  heartbeatTimeout: 10_000,
  longPollWait: 30,
  envelope: 'full',
};

export class SwitchboardClient extends Emitter {
  #subscriptions = new Set();
  #outbox = new Set();
  #closing = new AbortController();
  #reconnecting = false;
  // The backoff step the next reconnect starts at: past 0 while connections drop soon after they open.
  #backoffStep = 0;
  #connectedAt = 0;

  constructor(url, options = {}) {
    super();
    const base = new URL(url, globalThis.location?.href);
    if (base.protocol === 'ws:' || base.protocol === 'wss:') base.protocol = base.protocol === 'ws:' ? 'http:' : 'https:';
    this.options = { ...DEFAULTS, ...options };
    for (const name of this.options.transports) {
      if (!TRANSPORTS[name]) throw new TypeError(`Unknown transport '${name}'; use websocket, sse or longpolling.`);
    }
    if (this.options.envelope !== 'full' && this.options.envelope !== 'compact') {
      throw new TypeError(`envelope is '${this.options.envelope}'; use 'full' (the default) or 'compact'.`);
    }
    this.url = base;
    this.http = new Http(base, this.options);
    this.queues = new Queues(this);
    /** The transport in use: 'websocket', 'sse' or 'longpolling' (null while disconnected). */
    this.transport = null;
    /** 'connecting', 'connected', 'reconnecting' or 'closed'. */
    this.state = 'connecting';
    this._transport = null;
  }

  /** Aborts when the client closes: every loop and wait of the client listens to it. */
  get signal() {
    return this.#closing.signal;
  }

  async start() {
    try {
      await this.#openAny();
    } catch (error) {
      if (this.state !== 'closed') {
        this.#setState('closed', error);
        this.#closing.abort(error);
      }
      throw error;
    }
    this.#connected(0);
  }

  /** A transport opened: `backoffStep` is where a reconnect starts if it drops soon. */
  #connected(backoffStep) {
    this.#backoffStep = backoffStep;
    this.#connectedAt = Date.now();
    this.#setState('connected');
  }

  #setState(state, error) {
    this.state = state;
    this.transport = state === 'connected' ? this._transport.name : null;
    this.emit('state', { state, transport: this.transport, error });
  }

  /** Tries each transport in order; the first that opens is used. */
  async #openAny() {
    const errors = [];
    for (const name of this.options.transports) {
      if (this.#closing.signal.aborted) throw new SwitchboardError('closed', 'The client was closed.');
      const transport = new TRANSPORTS[name](this);
      try {
        await transport.open();
      } catch (error) {
        transport.close();
        if (error.fatal) throw error;
        errors.push(`${name}: ${error.message}`);
        this.emit('fallback', { transport: name, error });
        continue;
      }
      if (this.#closing.signal.aborted) {
        // Closed while it opened: the socket is let go, and the client stays closed.
        transport.close();
        throw new SwitchboardError('closed', 'The client was closed.');
      }
      transport.onLost = (error) => this.#lost(transport, error);
      this._transport = transport;
      this.transport = name;
      for (const subscription of this.#subscriptions) this.#activate(subscription, transport);
      for (const entry of this.#outbox) this.#dispatch(entry);
      return;
    }
    throw new SwitchboardError('unavailable', `No transport reached the hub at ${this.url.origin} (${errors.join('; ')}).`, { errors });
  }

  #lost(transport, error) {
    if (transport !== this._transport) return;
    this._transport = null;
    transport.close();
    if (this.state === 'closed') return;
    if (error?.fatal) {
      this.#fail(error);
      return;
    }
    // It lasted: the next reconnect starts from the first step. One that dropped soon after it opened (a hub that takes
    // the socket and closes it at once with 4429 or 1013) counts as a failed attempt, so the backoff goes on growing
    // instead of starting over at every such close.
    if (Date.now() - this.#connectedAt >= this.options.maxReconnectDelay) this.#backoffStep = 0;
    this.#reconnect(error);
  }

  async #reconnect(error) {
    if (this.#reconnecting) return;
    this.#reconnecting = true;
    this.#setState('reconnecting', error);
    try {
      const from = this.#backoffStep;
      for (let attempt = 0; attempt < this.options.maxReconnectAttempts; attempt++) {
        await sleep(backoff(from + attempt, this.options.reconnectDelay, this.options.maxReconnectDelay), this.#closing.signal);
        this.emit('state', { state: 'reconnecting', transport: null, attempt: attempt + 1 });
        try {
          await this.#openAny();
          this.#connected(Math.min(from + attempt + 1, 30));
          return;
        } catch (failure) {
          if (failure.fatal) return this.#fail(failure);
          error = failure;
        }
      }
      this.#fail(new SwitchboardError('unavailable', `Gave up reconnecting after ${this.options.maxReconnectAttempts} attempts: ${error?.message}`, { cause: error }));
    } catch {
      // closed while waiting
    } finally {
      this.#reconnecting = false;
    }
  }

  #fail(error) {
    if (this.state === 'closed') return;
    this.emit('error', error);
    this.#shutdown(error);
  }

  #shutdown(error) {
    const reason = error ?? new SwitchboardError('closed', 'The client was closed.');
    this.#closing.abort(reason); // what every wait of the client (requests, receives, backoffs) rejects with
    this._transport?.close();
    this._transport = null;
    this.#setState('closed', error);
    for (const entry of this.#outbox) entry.reject(reason);
    this.#outbox.clear();
    for (const subscription of this.#subscriptions) subscription.closed = true;
    this.#subscriptions.clear();
  }

  // --- publish ---------------------------------------------------------------------------------------------------

  /**
   * Publishes one message; resolves once it is durable with `{ topic, epoch, offset, timestamp }`. Survives
   * reconnects: a publish whose answer was lost is sent again with the same idempotency key.
   */
  publish(topic, payload, options = {}) {
    if (this.state === 'closed') return Promise.reject(new SwitchboardError('closed', 'The client is closed.'));
    const draft = { topic, ...envelope(payload, options), idempotencyKey: options.idempotencyKey ?? newId() };
    return new Promise((resolve, reject) => {
      const timeout = options.timeout ?? this.options.publishTimeout;
      const entry = { draft, inflight: false, attempt: 0 };
      const timer = setTimeout(() => entry.reject(new SwitchboardError('timeout',
        `The publish to ${topic} was not confirmed within ${timeout} ms (idempotency key ${draft.idempotencyKey}); it may or may not have been stored.`)), timeout);
      entry.resolve = (result) => { clearTimeout(timer); this.#outbox.delete(entry); resolve(result); };
      entry.reject = (error) => { clearTimeout(timer); this.#outbox.delete(entry); reject(error); };
      this.#outbox.add(entry);
      if (this._transport) this.#dispatch(entry);
    });
  }

  #dispatch(entry) {
    if (entry.inflight || !this.#outbox.has(entry)) return;
    const transport = this._transport;
    entry.inflight = true;
    transport.publish(entry.draft).then(entry.resolve, async (error) => {
      entry.inflight = false;
      if (!this.#outbox.has(entry)) return;
      if (isLost(error)) {
        // Sent again on the next connection (now, if that one is already up).
        if (this._transport && this._transport !== transport) this.#dispatch(entry);
        return;
      }
      if (error.retryable && error.code !== 'slow-consumer') {
        // The hub is busy or restarting (503, 429): it asked to be asked again later.
        try {
          await sleep(error.retryAfter ? error.retryAfter * 1000 : backoff(entry.attempt++, 500, 5000), this.#closing.signal);
        } catch {
          return;
        }
        if (this._transport) this.#dispatch(entry);
        return;
      }
      entry.reject(error);
    });
  }

  // --- subscribe -------------------------------------------------------------------------------------------------

  /**
   * Follows a topic or pattern. Starts now, or after `options.after` ("epoch:offset", an offset, a subscription's
   * `position`, or any multi-topic token the hub issued, passed to it as it is); `subscription.ready` resolves once the
   * hub confirmed it, and rejects with the hub's reason if it refused (a token it never issued: invalid-position).
   */
  subscribe(pattern, handler, options = {}) {
    if (this.state === 'closed') throw new SwitchboardError('closed', 'The client is closed.');
    const subscription = new Subscription(this, pattern, handler, options);
    this.#subscriptions.add(subscription);
    if (this._transport) this.#activate(subscription, this._transport);
    return subscription;
  }

  async #activate(subscription, transport) {
    for (let attempt = 0; ; attempt++) {
      try {
        if (!subscription.started) await this.#pinNow(subscription);
        if (subscription.closed || transport !== this._transport) return;
        await transport.subscribe(subscription);
        subscription.confirmed();
        return;
      } catch (error) {
        // A refusal (forbidden, invalid name…) ends the subscription; a lost connection resubscribes on the next one.
        if (!isLost(error)) return subscription.closed || subscription.failed(error);
        if (subscription.closed || transport !== this._transport) return;
        // The transport is up but a REST call failed: try again shortly rather than wait for a reconnect that may not come.
        try {
          await sleep(backoff(attempt, this.options.reconnectDelay, this.options.maxReconnectDelay), this.signal);
        } catch {
          return;
        }
      }
    }
  }

  /**
   * "From now" becomes explicit positions before the first subscribe, read over REST: each existing topic's last
   * offset. So a resume on any transport, or a later `after: subscription.position`, starts from the same point.
   */
  async #pinNow(subscription) {
    if (!subscription.wildcard) {
      try {
        const topic = await this.http.json('GET', `/v1/topics/${segment(subscription.pattern)}`, { signal: this.signal });
        subscription.positions.set(topic.name, { epoch: topic.epoch, offset: topic.stats.lastOffset });
      } catch (error) {
        if (error.code !== 'topic-not-found') throw error; // created later: every message of it is new
      }
    } else {
      let cursor;
      // 1,000 names a page (the hub's maximum); 1,000 pages bound the walk on even the largest hub.
      for (let page = 0; page < 1000; page++) {
        const list = await this.http.json('GET', '/v1/topics', { query: { prefix: literalPrefix(subscription.pattern), limit: 1000, cursor }, signal: this.signal });
        for (const topic of list.topics) {
          if (matches(subscription.pattern, topic.name)) subscription.positions.set(topic.name, { epoch: topic.epoch, offset: topic.stats.lastOffset });
        }
        cursor = list.next;
        if (!cursor) break;
      }
    }
    subscription.started = true;
  }

  /** Called by a subscription that ends: forgets it, and tells the hub when connected. */
  async forget(subscription) {
    this.#subscriptions.delete(subscription);
    try {
      await this._transport?.unsubscribe(subscription);
    } catch (error) {
      if (!isLost(error)) throw error;
    }
  }

  // --- queues and request/reply (over REST, whatever the transport) -----------------------------------------------

  send(queue, payload, options) { return this.queues.send(queue, payload, options); }
  receive(queue, options) { return this.queues.receive(queue, options); }
  ack(messages) { return this.queues.ack(messages); }
  request(queue, payload, options) { return this.queues.request(queue, payload, options); }
  respond(queue, handler, options) { return this.queues.respond(queue, handler, options); }

  /** Closes the connection, ends every subscription and responder, and rejects publishes not yet confirmed. */
  async close() {
    if (this.state === 'closed') return;
    this.#shutdown(undefined);
    await this.queues.stopAll();
  }
}

/** Connects to a hub (`http(s)://` or `ws(s)://` address) and resolves once a transport is open. */
export async function connect(url, options = {}) {
  const client = new SwitchboardClient(url, options);
  await client.start();
  return client;
}
