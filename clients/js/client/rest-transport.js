// What the SSE and long-polling transports share: publishing over REST, and one abort for everything they hold.

import { connectionLost, isLost } from './errors.js';
import { segment } from './http.js';

export class RestTransport {
  /** Called once when the connection fails (set by the client). */
  onLost = () => {};
  closed = false;
  #controller = new AbortController();
  #chains = new Map(); // topic -> the last publish to it

  constructor(client) {
    this.client = client;
  }

  get http() {
    return this.client.http;
  }

  /** Aborts when the transport closes: every request and stream it opened listens to it. */
  get signal() {
    return this.#controller.signal;
  }

  /**
   * Publishes to one topic go out one after another, so they are stored in the order they were made (as on the
   * WebSocket, which keeps one connection's order); publishes to different topics go out side by side.
   */
  publish(draft) {
    const previous = this.#chains.get(draft.topic);
    const current = (previous ? previous.catch(() => {}) : Promise.resolve()).then(() => this.#post(draft));
    this.#chains.set(draft.topic, current);
    const forget = () => {
      if (this.#chains.get(draft.topic) === current) this.#chains.delete(draft.topic);
    };
    current.then(forget, forget);
    return current;
  }

  /** POST /v1/topics/{topic}/messages with the publish's idempotency key, so a retry stores nothing twice. */
  async #post(draft) {
    const { topic, idempotencyKey, ...body } = draft;
    try {
      return await this.http.json('POST', `/v1/topics/${segment(topic)}/messages`, {
        body, headers: { 'Idempotency-Key': idempotencyKey }, signal: this.signal,
      });
    } catch (error) {
      if (isLost(error)) this.lost(error);
      throw error;
    }
  }

  /** The hub could not be reached (or ended a stream): close everything and let the client reconnect. */
  lost(error) {
    if (this.closed) return;
    this.close();
    this.onLost(error);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.#controller.abort(connectionLost(undefined, 'The transport was closed.'));
  }
}
