// A hard restart mid-stream: the hub (SQLite on a temp dir) is SIGKILLed while a client publishes and another
// subscribes, then started again on the same port and data. The subscriber must see every message exactly once, in
// order, and every publish must be confirmed and stored exactly once (retried with its idempotency key).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { connect } from '../../../clients/js/client.js';
import { Hub, Watch, nextEvent } from './hub.mjs';

const TOTAL = 120; // messages per run: 40 before the kill, 20 as it dies, 20 while it is down, 40 after it is back
const options = { WebSocket, reconnectDelay: 100, maxReconnectDelay: 1000 };

for (const transport of ['websocket', 'sse', 'longpolling']) {
  test(`over ${transport}: a SIGKILL and restart mid-stream loses nothing and repeats nothing`, async () => {
    const hub = await Hub.start();
    const publisher = await connect(hub.url, { ...options, transports: [transport] });
    const subscriber = await connect(hub.url, { ...options, transports: [transport] });
    const topic = `js.restart.${transport}`;
    const states = [];
    subscriber.on('state', (event) => states.push(event.state));
    try {
      const watch = new Watch();
      const received = [];
      const done = watch.until(() => received.length >= TOTAL, 90_000, `${TOTAL} messages`);
      const subscription = subscriber.subscribe(topic, (message) => { received.push(message.payload.n); watch.tick(); });
      await subscription.ready;

      const confirmations = [];
      const publish = (n) => confirmations.push(publisher.publish(topic, { n }));
      for (let n = 1; n <= 40; n++) publish(n);
      const first = watch.until(() => received.length >= 20, 15_000, 'the first 20 messages');
      await first;
      const reconnecting = nextEvent(subscriber, 'state', (event) => event.state === 'reconnecting', 15_000);
      // A burst sent just before the kill: some are stored, some not, some stored without their answer getting back.
      for (let n = 41; n <= 60; n++) publish(n);
      await hub.kill();
      await reconnecting;
      // Published while the hub is down: queued by the client, sent once it is back.
      for (let n = 61; n <= 80; n++) publish(n);
      const back = nextEvent(subscriber, 'state', (event) => event.state === 'connected', 60_000);
      await hub.start();
      await back;
      for (let n = 81; n <= TOTAL; n++) publish(n);

      const results = await Promise.all(confirmations);
      assert.equal(results.length, TOTAL);
      await done;
      assert.deepEqual(received, Array.from({ length: TOTAL }, (_, i) => i + 1), 'the subscriber saw each message once, in order');
      assert.equal(states[0], 'reconnecting');
      assert.equal(states.at(-1), 'connected');
      assert.equal(subscriber.transport, transport);
      const stored = await hub.history(topic);
      assert.deepEqual(stored.map((m) => m.payload.n), Array.from({ length: TOTAL }, (_, i) => i + 1), 'each publish was stored once');
      assert.deepEqual(results.map((r) => r.offset), stored.map((m) => m.offset));
    } finally {
      await publisher.close();
      await subscriber.close();
      await hub.stop();
    }
  });
}

test('over websocket: a wildcard subscription resumes every topic after a restart, and picks up a topic first published while the hub was down', async () => {
  const hub = await Hub.start();
  const client = await connect(hub.url, { ...options, transports: ['websocket'] });
  try {
    await hub.rest('POST', '/v1/topics/jsr.a/messages', { payload: 'old' }); // exists before: its history is not for us
    const watch = new Watch();
    const received = [];
    const done = watch.until(() => received.length >= 5, 60_000, '5 messages');
    const subscription = client.subscribe('jsr.*', (message) => { received.push(`${message.topic}:${message.payload}`); watch.tick(); });
    await subscription.ready;
    await client.publish('jsr.a', 1);
    await client.publish('jsr.b', 1);
    await watch.until(() => received.length >= 2, 15_000, 'the first two');
    const reconnecting = nextEvent(client, 'state', (event) => event.state === 'reconnecting', 15_000);
    await hub.kill();
    await reconnecting;
    const back = nextEvent(client, 'state', (event) => event.state === 'connected', 60_000);
    await hub.start();
    // Straight to the hub while the client may still be reconnecting: it must fetch these on resume.
    await hub.rest('POST', '/v1/topics/jsr.a/messages', { payload: 2 });
    await hub.rest('POST', '/v1/topics/jsr.c/messages', { payload: 1 });
    await back;
    await client.publish('jsr.b', 2);
    await done;
    assert.deepEqual(received.slice(0, 2), ['jsr.a:1', 'jsr.b:1']);
    assert.deepEqual(received.slice(2).sort(), ['jsr.a:2', 'jsr.b:2', 'jsr.c:1']);
    assert.equal(received.length, 5);
  } finally {
    await client.close();
    await hub.stop();
  }
});
