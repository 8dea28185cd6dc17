// Queues and request/reply over REST (docs/queues.md), whichever transport carries the topics. Durations here are
// the hub's: seconds (a number, decimals allowed) or a duration string such as "30s" or "5m".

import { SwitchboardError, isLost } from './errors.js';
import { segment } from './http.js';
import { envelope, fromQueueWire } from './messages.js';
import { backoff, newId, sleep } from './util.js';

// The hub holds a long poll (receive wait, reply wait) for at most 60 s.
const MAX_WAIT = 60;

export class Queues {
  #client;
  #responders = new Set();

  constructor(client) {
    this.#client = client;
  }

  get #http() {
    return this.#client.http;
  }

  /**
   * Calls `attempt` until it succeeds, the hub refuses, or `timeout` ms pass: a network failure or a 503/429 is tried
   * again after a backoff (operations passed here are idempotent or carry an idempotency key).
   */
  async #retrying(what, attempt, timeout = this.#client.options.publishTimeout, signal = this.#client.signal) {
    const deadline = Date.now() + timeout;
    for (let tries = 0; ; tries++) {
      try {
        return await attempt(tries);
      } catch (error) {
        const again = isLost(error) || (error.retryable && error.code !== 'slow-consumer');
        if (!again || signal.aborted) throw error;
        const delay = error.retryAfter ? error.retryAfter * 1000 : backoff(tries, this.#client.options.reconnectDelay, this.#client.options.maxReconnectDelay);
        if (Date.now() + delay > deadline) throw new SwitchboardError('timeout', `${what} did not succeed within ${timeout} ms: ${error.message}`, { cause: error });
        await sleep(delay, signal);
      }
    }
  }

  /** Sends a message to a queue: `{ queue, id }` once it is durable. Options: delay, headers, key, contentType, idempotencyKey. */
  send(queue, payload, options = {}) {
    const key = options.idempotencyKey ?? newId();
    const body = envelope(payload, options);
    return this.#retrying(`send to ${queue}`, () => this.#http.json('POST', `/v1/queues/${segment(queue)}/messages`, {
      query: { delay: options.delay }, body, headers: { 'Idempotency-Key': key }, signal: this.#client.signal,
    }));
  }

  /**
   * Leases up to `max` messages (default 1), waiting up to `wait` seconds for the first (default 0). Each has
   * `ack()`, `nack({ delay, error })` and `extend(seconds)`.
   */
  async receive(queue, options = {}) {
    const signal = options.signal ? AbortSignal.any([options.signal, this.#client.signal]) : this.#client.signal;
    const answer = await this.#retrying(`receive from ${queue}`, () => this.#http.json('POST', `/v1/queues/${segment(queue)}/receive`, {
      query: { max: options.max, wait: options.wait, lease: options.lease }, signal,
    }), Math.max(this.#client.options.publishTimeout, (Number(options.wait) || 0) * 1000 + 10_000), signal);
    return answer.messages.map((wire) => this.#leased(queue, wire));
  }

  #leased(queue, wire) {
    const message = fromQueueWire(queue, wire);
    const path = `/v1/queues/${segment(queue)}/messages/${wire.id}`;
    const settle = (action, body, what) => this.#retrying(`${what} of message ${wire.id} in ${queue}`, async (tries) => {
      try {
        return await this.#http.json('POST', `${path}/${action}`, { body: { lease: message.lease, ...body }, signal: this.#client.signal });
      } catch (error) {
        // Retried after no answer came: "not found" means the first try deleted it.
        if (tries > 0 && action === 'ack' && error.code === 'message-not-found') return undefined;
        throw error;
      }
    });
    message.ack = () => settle('ack', {}, 'ack');
    message.nack = (options = {}) => settle('nack', { delay: options.delay, error: options.error }, 'nack');
    message.extend = async (by) => {
      const answer = await settle('extend', { extendBy: by }, 'extend');
      message.leaseExpiresAt = answer.leaseExpiresAt;
      return answer;
    };
    return message;
  }

  /**
   * Acks received messages of one queue in one request per thousand (POST /v1/queues/{queue}/ack) instead of one per
   * message. Each ack stands alone: resolves with the ones that were not acked, `[{ message, error }]` (a lease that ran
   * out or was replaced: the message will be delivered again), empty when every one was.
   */
  async ack(messages) {
    if (messages.length === 0) return [];
    const queue = messages[0].queue;
    if (messages.some((m) => m.queue !== queue)) throw new TypeError('Ack the messages of one queue at a time.');
    const ids = new Set();
    for (const message of messages) {
      if (ids.has(message.id)) throw new TypeError(`Message ${message.id} is in the list twice; ack each message once.`);
      ids.add(message.id);
    }
    const failures = [];
    for (let start = 0; start < messages.length; start += 1000) {
      const chunk = messages.slice(start, start + 1000);
      const byId = new Map(chunk.map((m) => [m.id, m]));
      let retried = false;
      const answer = await this.#retrying(`ack of ${chunk.length} messages in ${queue}`, (tries) => {
        retried = tries > 0;
        return this.#http.json('POST', `/v1/queues/${segment(queue)}/ack`, {
          body: { messages: chunk.map((m) => ({ id: m.id, lease: m.lease })) }, signal: this.#client.signal,
        });
      });
      for (const failed of answer.failed) {
        // Retried after no answer came: "not found" means the first try deleted it.
        if (retried && failed.code === 'message-not-found') continue;
        failures.push({ message: byId.get(failed.id), error: new SwitchboardError(failed.code, failed.detail, { status: failed.status }) });
      }
    }
    return failures;
  }

  /**
   * Sends a request to a queue's responders and resolves with the reply message (`payload`, `headers`, …).
   * `timeout` in seconds (default 30); past 60 s the reply is fetched with repeated long polls.
   */
  async request(queue, payload, options = {}) {
    const timeout = options.timeout ?? 30;
    const key = options.idempotencyKey ?? newId();
    const body = envelope(payload, options);
    const deadline = Date.now() + timeout * 1000;
    const path = `/v1/queues/${segment(queue)}/requests`;
    const post = () => this.#http.request('POST', path, {
      query: { timeout: timeout <= MAX_WAIT ? timeout : 0 },
      body,
      headers: { 'Idempotency-Key': key },
      signal: this.#client.signal,
      accept: [202],
    });
    const response = await this.#retrying(`request to ${queue}`, post, timeout * 1000 + 10_000);
    let slot = await response.json();
    // 202: the hub answered "pending" (a wait past its limit, or a retried request): long-poll the reply.
    while (slot.status !== 'replied') {
      const left = (deadline - Date.now()) / 1000;
      if (left <= 0) throw new SwitchboardError('timeout', `No reply came within ${timeout} s (request ${slot.id}).`, { status: 504 });
      slot = await this.#retrying(`reply ${slot.id}`, () => this.#http.json('GET', `/v1/replies/${segment(slot.id)}`, {
        query: { wait: Math.min(MAX_WAIT, Math.ceil(left)) }, accept: [202], signal: this.#client.signal,
      }), MAX_WAIT * 1000 + 10_000);
    }
    return {
      id: slot.id,
      queue,
      repliedAt: slot.repliedAt,
      headers: slot.headers ?? {},
      contentType: slot.contentType ?? 'application/json',
      payload: fromQueueWire(queue, slot).payload,
    };
  }

  /**
   * Answers requests on a queue: `handler(message)` returns the reply payload (or a promise of it). The reply also
   * acks the request; a handler that throws nacks it (redelivered with backoff, dead-lettered after maxAttempts).
   * Returns `{ stop(), done }`. Options: concurrency (default 1), lease (seconds), wait (seconds, default 30).
   */
  respond(queue, handler, options = {}) {
    const stop = new AbortController();
    const signal = AbortSignal.any([stop.signal, this.#client.signal]);
    const concurrency = options.concurrency ?? 1;
    const loop = async () => {
      const running = new Set();
      while (!signal.aborted) {
        if (running.size >= concurrency) {
          await Promise.race(running);
          continue;
        }
        let messages;
        try {
          messages = await this.receive(queue, { max: concurrency - running.size, wait: options.wait ?? 30, lease: options.lease, signal });
        } catch (error) {
          if (signal.aborted) break;
          this.#client.emit('error', error);
          try {
            await sleep(backoff(0, 1000, 5000), signal);
          } catch {
            break;
          }
          continue;
        }
        for (const message of messages) {
          const work = this.#answer(message, handler).finally(() => running.delete(work));
          running.add(work);
        }
      }
      await Promise.allSettled(running);
    };
    const done = loop();
    const responder = {
      stop: async () => {
        stop.abort();
        await done;
        this.#responders.delete(responder);
      },
      done,
    };
    this.#responders.add(responder);
    return responder;
  }

  async #answer(message, handler) {
    let reply;
    try {
      reply = await handler(message);
    } catch (error) {
      await message.nack({ error: String(error?.message ?? error).slice(0, 1000) }).catch((e) => this.#client.emit('error', e));
      return;
    }
    try {
      if (message.replyTo === undefined) {
        await message.ack(); // a plain queue message: nobody waits for an answer
        return;
      }
      const body = envelope(reply === undefined ? null : reply);
      await this.#retrying(`reply to ${message.replyTo}`, () => this.#http.request('POST', `/v1/replies/${segment(message.replyTo)}`, {
        query: { lease: message.lease }, body, signal: this.#client.signal,
      }));
    } catch (error) {
      this.#client.emit('error', error);
    }
  }

  async stopAll() {
    await Promise.allSettled([...this.#responders].map((responder) => responder.stop()));
  }
}
