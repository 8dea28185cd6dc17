// The long-polling transport: for each subscription, GET /v1/topics/{topic}/messages?after=POSITION&wait=SECONDS in a
// loop (the hub answers the moment a message is committed), publishes over REST. Plain HTTP requests: it passes any
// proxy that passes REST. A pattern (or a topic that starts at a multi-topic token) is followed with
// GET /v1/messages?topic=PATTERN, resumed by the hub's own token: each page's `next`.

import { SwitchboardError, isLost } from './errors.js';
import { segment } from './http.js';
import { RestTransport } from './rest-transport.js';
import { backoff, sleep } from './util.js';

// Messages per answer: enough to drain a burst in few round trips, small enough to keep each answer quick to parse.
const PAGE = 100;

export class LongPollingTransport extends RestTransport {
  name = 'longpolling';
  #loops = new Map(); // Subscription -> AbortController

  /** Readiness is what long polling needs: the hub answers HTTP and accepts work. */
  async open() {
    await this.http.request('GET', '/readyz', { signal: AbortSignal.any([this.signal, AbortSignal.timeout(this.client.options.connectTimeout)]) });
  }

  /** The hub is busy or restarting (503, 429, not a lost connection): wait as it asked, then ask again. */
  async #waitIfBusy(error, attempt, signal) {
    if (isLost(error) || !error.retryable) return false;
    await sleep(error.retryAfter ? error.retryAfter * 1000 : backoff(attempt, 500, 5000), signal).catch(() => {});
    return true;
  }

  async subscribe(subscription) {
    const controller = new AbortController();
    this.#loops.set(subscription, controller);
    const signal = AbortSignal.any([controller.signal, this.signal]);
    await new Promise((confirmed, refused) => {
      const poll = subscription.multiTopic ? this.#pollPattern(subscription, signal, confirmed) : this.#poll(subscription, signal, confirmed);
      poll.then(undefined, (error) => {
        if (signal.aborted) return refused(signal.reason);
        refused(error);
        if (isLost(error)) this.lost(error);
        else subscription.failed(error); // a refusal after the first answer (the promise is settled by then) ends it here
      });
    });
  }

  async unsubscribe(subscription) {
    this.#loops.get(subscription)?.abort();
    this.#loops.delete(subscription);
  }

  /**
   * A pattern (or a topic that starts at a multi-topic token): GET /v1/messages?topic=PATTERN&after=TOKEN&wait=…, every
   * matching topic in one request. The position is the subscription's multi-topic token: the page's `next` goes with
   * its last message (or, on an empty page, moves the subscription on its own), so the next request sends the hub's
   * token back as it was given.
   */
  async #pollPattern(subscription, signal, confirmed) {
    let waits = 0;
    let first = true;
    while (!signal.aborted) {
      let page;
      try {
        page = await this.http.json('GET', '/v1/messages', {
          query: { topic: subscription.pattern, after: subscription.resumeToken(), limit: PAGE, wait: first ? 0 : this.client.options.longPollWait },
          signal,
        });
      } catch (error) {
        if (signal.aborted) return;
        if (await this.#waitIfBusy(error, waits++, signal)) continue;
        throw error;
      }
      waits = 0;
      if (first) {
        first = false;
        confirmed();
      }
      for (const notice of page.notices) subscription.notice(notice);
      const last = page.messages.length - 1;
      page.messages.forEach((message, i) => subscription.accept(message, false, i === last ? page.next : undefined));
      if (last < 0) subscription.advance(page.next);
    }
  }

  async #poll(subscription, signal, confirmed) {
    const topic = subscription.pattern;
    const path = `/v1/topics/${segment(topic)}/messages`;
    let waits = 0; // consecutive waits (topic not there yet, hub busy): backoff between them
    let first = true;
    while (!signal.aborted) {
      const position = subscription.positions.get(topic);
      const after = !position ? '0' : position.epoch ? `${position.epoch}:${position.offset}` : String(position.offset);
      let page;
      try {
        page = await this.http.json('GET', path, { query: { after, limit: PAGE, wait: first ? 0 : this.client.options.longPollWait }, signal });
      } catch (error) {
        if (signal.aborted) return;
        const problem = error.problem ?? {};
        if (error.code === 'topic-not-found') {
          // Not created yet (or deleted): its first message is for us. Ask again, less often the longer it is missing.
          confirmed();
          first = false;
          await sleep(backoff(waits++, 500, 5000), signal).catch(() => {});
          continue;
        }
        if (error.code === 'epoch-mismatch') {
          subscription.notice({ kind: 'epoch-changed', topic, epoch: problem.epoch, previousEpoch: position?.epoch ?? null });
          continue;
        }
        if (error.code === 'position-out-of-range') {
          // Same incarnation, fewer messages than we saw: the hub lost history it had confirmed. Carry on from its end.
          subscription.positions.set(topic, { epoch: problem.epoch, offset: problem.lastOffset });
          this.client.emit('error', error);
          continue;
        }
        if (await this.#waitIfBusy(error, waits++, signal)) continue;
        throw error;
      }
      waits = 0;
      if (first) {
        first = false;
        confirmed();
      }
      const messages = page.messages;
      if (messages.length > 0 && position?.epoch === page.epoch && messages[0].offset > position.offset + 1) {
        subscription.notice({ kind: 'missed', topic, epoch: page.epoch, fromOffset: position.offset + 1, toOffset: messages[0].offset - 1 });
      }
      for (const message of messages) subscription.accept(message);
      if (messages.length === 0 && page.next && !position?.epoch) {
        // An offset without its epoch (after: N): pin the incarnation the hub read from.
        const colon = page.next.lastIndexOf(':');
        if (colon > 0) subscription.positions.set(topic, { epoch: page.next.slice(0, colon), offset: Number(page.next.slice(colon + 1)) });
      }
    }
  }

  close() {
    for (const controller of this.#loops.values()) controller.abort();
    this.#loops.clear();
    super.close();
  }
}
