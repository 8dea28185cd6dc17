// The Server-Sent Events transport: one event stream per subscription on GET /v1/events?topic=… (the multi-topic form,
// which resumes any pattern from one id), publishes over REST. EventSource where the platform has one (browsers), else
// a stream read with fetch (Node), which can also send the credential as a header rather than in the URL.

import { SwitchboardError, connectionLost, isLost } from './errors.js';
import { RestTransport } from './rest-transport.js';

// A pattern no topic matches (no topic starts with "_sb-probe."), so the probe stream costs the hub nothing and
// publishes no presence events. With scopes, a 403 still proves that event streams reach the hub.
const PROBE = '_sb-probe.*';

export class SseTransport extends RestTransport {
  name = 'sse';
  #streams = new Map(); // Subscription -> { close() }

  get #EventSource() {
    return this.client.options.EventSource ?? globalThis.EventSource;
  }

  /**
   * Opens a stream and waits for its first event: proves that streams reach the hub and that events come through
   * unbuffered (a proxy that holds the response back fails here, after probeTimeout, and long polling takes over).
   */
  async open() {
    const timeout = this.client.options.probeTimeout ?? this.client.options.connectTimeout;
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.signal]);
    const timer = setTimeout(() => controller.abort(new SwitchboardError('unavailable',
      `No event arrived within ${timeout} ms (is a proxy buffering event streams?).`)), timeout);
    try {
      const response = await this.http.request('GET', '/v1/events', { query: { topic: PROBE }, headers: { Accept: 'text/event-stream' }, signal });
      if (!(response.headers.get('Content-Type') ?? '').startsWith('text/event-stream')) {
        throw new SwitchboardError('unavailable', `GET /v1/events answered ${response.headers.get('Content-Type')}, not an event stream.`);
      }
      for await (const event of readEvents(response.body, signal)) {
        if (event) break; // the first block (retry: and id:) arrived: events flow
      }
    } catch (error) {
      if (error.code === 'forbidden') return;
      if (error.code === 'unauthorized') error.fatal = true;
      throw error;
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
  }

  async subscribe(subscription) {
    try {
      const EventSourceType = this.#EventSource;
      await (EventSourceType ? this.#openEventSource(subscription, EventSourceType) : this.#openFetch(subscription));
    } catch (error) {
      this.#streams.get(subscription)?.close();
      this.#streams.delete(subscription);
      if (error.status === 429) {
        // This stream does not fit (too many connections or requests): the others carry on, and this subscription
        // tries again with backoff (as a lost call: the client does) until there is room, rather than end for good.
        throw connectionLost(error, `The hub has no room for another event stream now: ${error.message}`);
      }
      if (isLost(error)) this.lost(error);
      throw error;
    }
  }

  async unsubscribe(subscription) {
    this.#streams.get(subscription)?.close();
    this.#streams.delete(subscription);
  }

  /** One event of a subscription's stream; `id` is the hub's token for where the stream stands after it. */
  #event(subscription, type, data, id) {
    if (type === 'notice') {
      subscription.notice(JSON.parse(data));
    } else if (type === 'error' || type === 'shutdown') {
      // The hub ends the stream and says why (slow-consumer, shutting-down, an expired credential): reconnect and resume.
      const reason = JSON.parse(data);
      const error = new SwitchboardError(reason.code, reason.message);
      error.fatal = reason.code === 'unauthorized' && typeof this.client.options.token !== 'function';
      this.lost(error);
    } else {
      subscription.accept(JSON.parse(data), false, id);
    }
  }

  async #openFetch(subscription) {
    const controller = new AbortController();
    const signal = AbortSignal.any([controller.signal, this.signal]);
    this.#streams.set(subscription, { close: () => controller.abort() });
    const response = await this.http.request('GET', '/v1/events', {
      query: { topic: subscription.pattern },
      headers: { Accept: 'text/event-stream', 'Last-Event-ID': subscription.resumeToken() },
      signal,
    });
    (async () => {
      try {
        for await (const event of readEvents(response.body, signal)) {
          // An id without data moves the stream's token (its first block, or a new snapshot of its positions).
          if (event.data !== undefined) this.#event(subscription, event.event, event.data, event.id);
          else if (event.id) subscription.advance(event.id);
        }
        if (!signal.aborted) this.lost(connectionLost(undefined, 'The hub ended the event stream.'));
      } catch (error) {
        if (!signal.aborted) this.lost(connectionLost(error, 'The event stream was interrupted.'));
      }
    })();
  }

  async #openEventSource(subscription, EventSourceType) {
    // EventSource cannot send headers: the position and the credential go in the query (the hub accepts them there).
    const credential = await this.http.credential();
    const query = { topic: subscription.pattern, lastEventId: subscription.resumeToken(), access_token: credential?.value };
    const source = new EventSourceType(this.http.url('/v1/events', query).toString());
    this.#streams.set(subscription, { close: () => source.close() });
    this.signal.addEventListener('abort', () => source.close(), { once: true });
    await new Promise((resolve, reject) => {
      let opened = false;
      // Listeners rather than on* properties: the hub's own "event: error" reaches listeners everywhere, and
      // EventSource implementations differ on whether it also reaches onerror.
      source.addEventListener('open', () => {
        opened = true;
        resolve();
      });
      source.addEventListener('error', (event) => {
        if (event?.data !== undefined) return this.#event(subscription, 'error', event.data); // the hub's own "event: error"
        source.close();
        if (opened) return this.lost(connectionLost(undefined, 'The event stream was interrupted.'));
        // EventSource does not say why it failed: ask again with fetch to learn the hub's answer (a refusal, or none).
        this.http.request('GET', '/v1/events', { query: { topic: subscription.pattern }, headers: { Accept: 'text/event-stream' }, signal: AbortSignal.timeout(5000) })
          .then((response) => {
            response.body?.cancel().catch(() => {});
            reject(connectionLost(undefined, 'The event stream could not be opened.'));
          }, reject);
      });
    });
    // EventSource hands over each event's id (not an id-only block's: the next event carries one anyway).
    source.addEventListener('message', (event) => this.#event(subscription, 'message', event.data, event.lastEventId || undefined));
    source.addEventListener('notice', (event) => this.#event(subscription, 'notice', event.data));
    source.addEventListener('shutdown', (event) => this.#event(subscription, 'shutdown', event.data));
  }

  close() {
    for (const stream of this.#streams.values()) stream.close();
    this.#streams.clear();
    super.close();
  }
}

/**
 * The events of a text/event-stream body (WHATWG HTML §9.2): `{ id, event, data, retry }` per blank-line-ended block;
 * `data` lines are joined with "\n", comments skipped. Yields an empty object for a block with no fields.
 */
export async function* readEvents(body, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = {};
  const onAbort = () => reader.cancel(signal.reason).catch(() => {});
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.search(/\r\n|\r|\n/)) >= 0) {
        if (buffer[end] === '\r' && end === buffer.length - 1) break; // a CR at the end may be half of a CRLF
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
        if (line === '') {
          yield event;
          event = {};
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
        else if (field === 'event' || field === 'id' || field === 'retry') event[field] = value;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    reader.releaseLock?.();
  }
}
