// What the SSE and long-polling transports share: publishing over REST, and one abort for everything they hold.

import { connectionLost, isLost } from './errors.js';
import { segment } from './http.js';

export class RestTransport {
  /** Called once when the connection fails (set by the client). */
  onLost = () => {};
  closed = false;
  #controller = new AbortController();

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

  /** POST /v1/topics/{topic}/messages with the publish's idempotency key, so a retry stores nothing twice. */
  async publish(draft) {
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
