// The WebSocket transport: the hub's multiplexed protocol on /v1/ws (subprotocol switchboard.v1.json; see
// docs/websocket-protocol.md). One socket carries every subscription and publish; answers find their request by id.

import { SwitchboardError, connectionLost, fromClose, fromFrame } from './errors.js';
import { fromCompact } from './messages.js';
import { matches } from './util.js';

const SUBPROTOCOL = 'switchboard.v1.json';

export class WebSocketTransport {
  name = 'websocket';
  /** Called once when the connection fails (set by the client). */
  onLost = () => {};

  #client;
  #socket;
  #nextId = 0;
  #pending = new Map(); // frame id -> { resolve, reject, subscription? }
  /** server subscription id -> Subscription; includes subscriptions being confirmed or ended (they may still send). */
  #subscriptions = new Map();
  #bySubscription = new Map(); // Subscription -> server subscription id
  #closed = false;
  #heartbeat;
  #refresh;
  #lastFrame = Date.now();
  #authenticated = false;
  #epochs = new Map(); // topic -> the epoch the hub last told this socket (compact envelope)

  constructor(client) {
    this.#client = client;
  }

  async open() {
    const options = this.#client.options;
    const WebSocketType = options.WebSocket ?? globalThis.WebSocket;
    if (!WebSocketType) {
      throw new SwitchboardError('unsupported', 'No WebSocket here (Node before 22): pass options.WebSocket, e.g. the ws package\'s WebSocket.');
    }
    const url = this.#client.http.url('/v1/ws', { batch: 'true' }, this.#client.url.protocol === 'https:' ? 'wss:' : 'ws:');
    const socket = new WebSocketType(url.toString(), SUBPROTOCOL);
    this.#socket = socket;
    this.#epochs = new Map(); // told per socket: a new one is told again
    await new Promise((resolve, reject) => {
      let failure;
      const timer = setTimeout(() => {
        reject(new SwitchboardError('unavailable', `The WebSocket did not open within ${options.connectTimeout} ms.`));
        try { socket.close(); } catch { /* not open yet */ }
      }, options.connectTimeout);
      socket.onerror = (event) => {
        // Browsers say nothing more; the ws package says what the server answered (e.g. "Unexpected server response: 403").
        failure = event?.message ?? event?.error?.message ?? failure;
      };
      socket.onclose = (event) => {
        clearTimeout(timer);
        const error = event.code === 1006 || !event.code
          ? new SwitchboardError('unavailable', `The WebSocket upgrade failed${failure ? `: ${String(failure).replace(/\.$/, '')}` : ''}.`)
          : fromClose(event.code, event.reason);
        reject(error);
      };
      socket.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    socket.onmessage = (event) => this.#receive(event.data);
    socket.onclose = (event) => this.#lost(fromClose(event.code, event.reason));
    socket.onerror = () => {}; // the close event that follows says what happened
    this.#startHeartbeat();
    const credential = await this.#client.http.credential();
    if (credential?.value) await this.#authenticate(credential.value);
  }

  async #authenticate(token) {
    const answer = await this.#call({ auth: { token } }, 'authenticated');
    this.#authenticated = true;
    const expiresAt = answer?.expiresAt ? Date.parse(answer.expiresAt) : NaN;
    if (typeof this.#client.options.token === 'function' && Number.isFinite(expiresAt)) {
      // Refresh before the hub closes with 4401: at four fifths of the credential's remaining life, or 30 s before it
      // ends when that is sooner (a short-lived token is not renewed at the last moment), never sooner than 1 s from now.
      const left = expiresAt - Date.now();
      const delay = Math.max(1000, Math.min(left * 0.8, left - 30_000));
      this.#refresh = setTimeout(async () => {
        try {
          const fresh = await this.#client.http.credential();
          await this.#authenticate(fresh.value);
        } catch (error) {
          this.#client.emit('error', error);
        }
      }, delay);
    }
  }

  /** Sends a frame and resolves with the answer's `kind` part (rejects with the error frame or the lost connection). */
  #call(body, kind, subscription) {
    if (this.#closed) return Promise.reject(connectionLost(undefined));
    const id = `c${++this.#nextId}`;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, kind, subscription });
      try {
        this.#socket.send(JSON.stringify({ id, ...body }));
      } catch (error) {
        this.#pending.delete(id);
        reject(connectionLost(error));
      }
    });
  }

  publish(draft) {
    return this.#call({ publish: draft }, 'published');
  }

  async subscribe(subscription) {
    const frame = { topics: [subscription.pattern] };
    if (this.#client.options.envelope === 'compact') frame.envelope = 'compact';
    if (subscription.multiTopic) {
      // The hub gives no token over the WebSocket: its own where nothing moved since, else the positions kept here.
      frame.after = subscription.resumeToken();
    } else {
      const position = subscription.positions.get(subscription.pattern);
      if (!position) frame.afterOffset = 0;
      else if (position.epoch) frame.after = `${position.epoch}:${position.offset}`;
      else frame.afterOffset = position.offset;
    }
    // The frame id becomes the server's subscription id: registered before sending, since messages may follow at once.
    const id = `c${this.#nextId + 1}`;
    this.#subscriptions.set(id, subscription);
    this.#bySubscription.set(subscription, id);
    try {
      await this.#call({ subscribe: frame }, 'subscribed', subscription);
    } catch (error) {
      this.#subscriptions.delete(id);
      this.#bySubscription.delete(subscription);
      throw error;
    }
  }

  async unsubscribe(subscription) {
    const id = this.#bySubscription.get(subscription);
    if (id === undefined) return;
    this.#bySubscription.delete(subscription);
    try {
      await this.#call({ unsubscribe: { subscriptionId: id } }, 'unsubscribed');
    } finally {
      // Frames of it queued before the answer have arrived by now; later ones cannot come.
      this.#subscriptions.delete(id);
    }
  }

  #receive(data) {
    this.#lastFrame = Date.now();
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    // ?batch=true: several frames per WebSocket message, one per line (frames never hold a raw newline).
    for (const line of text.split('\n')) {
      if (!line) continue;
      let frame;
      try {
        frame = JSON.parse(line);
      } catch (error) {
        this.#client.emit('error', new SwitchboardError('protocol-error', `The hub sent a frame that is not JSON: ${error.message}`));
        continue;
      }
      this.#frame(frame);
    }
  }

  #frame(frame) {
    if (frame.message) {
      this.#message(frame.message);
      return;
    }
    if (frame.m) {
      // The compact envelope: topic, offset, payload; the hub told this connection the topic's epoch before.
      const epoch = this.#epochs.get(frame.m.t);
      if (epoch === undefined) {
        this.#client.emit('error', new SwitchboardError('protocol-error', `The hub sent a compact message of ${frame.m.t} before its epoch.`));
        return;
      }
      this.#message(fromCompact(frame.m, epoch));
      return;
    }
    if (frame.notice?.kind === 'epoch') {
      this.#epochs.set(frame.notice.topic, frame.notice.epoch); // for the connection, not a subscription's news
      return;
    }
    if (frame.notice) {
      this.#subscriptions.get(frame.notice.subscriptionId)?.notice(frame.notice);
      return;
    }
    const pending = frame.id !== undefined ? this.#pending.get(frame.id) : undefined;
    if (!pending) {
      if (frame.error) this.#client.emit('error', fromFrame(frame.error));
      return;
    }
    if (frame.error) {
      this.#pending.delete(frame.id);
      pending.reject(fromFrame(frame.error));
    } else if (frame[pending.kind] !== undefined) {
      this.#pending.delete(frame.id);
      pending.resolve(frame[pending.kind]);
    }
  }

  /** A message: every subscription whose pattern matches takes it (frames carry no subscription id). */
  #message(wire) {
    const candidates = [];
    for (const subscription of new Set(this.#subscriptions.values())) {
      if (matches(subscription.pattern, wire.topic)) candidates.push(subscription);
    }
    // When several subscriptions match a topic, each takes only its next message.
    for (const subscription of candidates) subscription.accept(wire, candidates.length > 1);
  }

  #startHeartbeat() {
    const { heartbeatInterval, heartbeatTimeout } = this.#client.options;
    if (!heartbeatInterval) return;
    // Browsers answer the hub's pings without telling the page, so a dead path shows only as silence: after an idle
    // interval, ask; no frame within the timeout means the connection is gone (a half-open TCP connection never closes).
    this.#heartbeat = setInterval(() => {
      const idle = Date.now() - this.#lastFrame;
      if (idle >= heartbeatInterval + heartbeatTimeout) {
        this.#lost(connectionLost(undefined, `No frame from the hub for ${idle} ms.`));
      } else if (idle >= heartbeatInterval) {
        this.#call({ ping: {} }, 'pong').catch(() => {});
      }
    }, Math.min(heartbeatInterval, heartbeatTimeout));
    this.#heartbeat.unref?.();
  }

  #lost(error) {
    if (this.#closed) return;
    if (error.closeCode === 4401 && this.#authenticated && typeof this.#client.options.token === 'function') {
      error.fatal = false; // the credential expired: reconnect with a fresh one from the token function
    }
    this.close(error);
    this.onLost(error);
  }

  close(cause) {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#refresh);
    // Frames without an answer are sent again on the next connection, unless the close says that cannot help: a
    // refused credential, or a frame over the hub's size limit (1009: which of the frames in flight is unknown).
    const lost = connectionLost(cause, `The WebSocket closed before the hub answered${cause ? ` (${cause.message})` : ''}.`);
    const error = cause && (cause.fatal || cause.code === 'message-too-large') ? cause : lost;
    for (const pending of this.#pending.values()) {
      // Only a publish can be the frame over the limit: a subscribe or an auth caught in the same close is small and goes
      // again on the next connection (as a subscription refused for it would end for good).
      pending.reject(cause?.code === 'message-too-large' && pending.kind !== 'published' ? lost : error);
    }
    this.#pending.clear();
    this.#subscriptions.clear();
    try {
      if (this.#socket && this.#socket.readyState <= 1) this.#socket.close(1000, 'client closed');
    } catch {
      // already closing
    }
  }
}
