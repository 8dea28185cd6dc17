// Reconnects at their edges, against the real hub: a hub that takes the WebSocket and closes it at once (4429) must
// see the client back off rather than return every quarter second; a 1009 close fails only the publishes in flight,
// not a subscription being confirmed; a client closed while a reconnect is opening a socket stays closed.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { connect } from '../../../clients/js/client.js';
import { Hub, Watch, nextEvent, startRelay } from './hub.mjs';

let hub;
before(async () => { hub = await Hub.start({ memory: true }); });
after(async () => { await hub?.stop(); });

const options = { transports: ['websocket'], WebSocket, reconnectDelay: 100, maxReconnectDelay: 1000 };

test('a hub that closes every WebSocket as it opens (4429) is retried with a growing backoff', async () => {
  const limited = await Hub.start({ memory: true, env: { Switchboard__Connections__MaxPerAddress: '1' } });
  const first = await connect(limited.url, options); // the one slot is taken
  const refusals = [];
  const watch = new Watch();
  const six = watch.until(() => refusals.length >= 6, 30_000, '6 refusals');
  let second;
  try {
    // A connection that lasts maxReconnectDelay counts as one that worked (the backoff starts over): 4 s, so that a
    // loaded machine's slow refusal is never taken for one.
    second = await connect(limited.url, { ...options, maxReconnectDelay: 4000 }); // opens, then is closed with 4429
    second.on('state', (event) => {
      if (event.state === 'reconnecting' && event.error?.closeCode === 4429) {
        refusals.push(performance.now());
        watch.tick();
      }
    });
    await six;
    // 100 ms doubling to 4 s, each wait at least half its step: backing off, the 5 waits between these 6 refusals take
    // at least 50 + 100 + 200 + 400 + 800 ms; starting over at every close, 5 x 100 ms at most.
    const took = refusals[5] - refusals[0];
    assert.ok(took >= 1200, `6 refusals within ${Math.round(took)} ms: the backoff starts over at every 4429`);
    assert.notEqual(second.state, 'closed');
  } finally {
    await second?.close();
    await first.close();
    await limited.stop();
  }
});

test('a subscription whose subscribe follows an oversized publish on the socket (1009) resubscribes instead of failing', async () => {
  const client = await connect(hub.url, options);
  try {
    const topic = 'js.edges.big';
    await client.publish(topic, 'before');
    const received = [];
    const watch = new Watch();
    const both = watch.until(() => received.length >= 2, 15_000, '2 messages');
    // The oversized publish goes out first; the subscribe frame follows it, so the hub closes with 1009 before it reads
    // the subscribe: that subscribe got no answer and must go again on the next socket.
    const big = client.publish('js.edges.other', new Uint8Array(2 * 1024 * 1024));
    const subscription = client.subscribe(topic, (message) => { received.push(message.payload); watch.tick(); }, { after: 0 });
    await assert.rejects(big, (error) => error.code === 'message-too-large');
    await subscription.ready;
    await client.publish(topic, 'after');
    await both;
    assert.deepEqual(received, ['before', 'after']);
  } finally {
    await client.close();
  }
});

test('a client closed while a reconnect is opening its socket stays closed and lets that socket go', async () => {
  const relay = await startRelay(new URL(hub.url));
  const client = await connect(relay.url, { ...options, reconnectDelay: 20, maxReconnectDelay: 50 });
  const states = [];
  client.on('state', (event) => states.push(event.state));
  try {
    relay.hold = true;
    const held = relay.next();
    relay.cut(); // the socket drops; the reconnect's new one is held at the relay, its upgrade unanswered
    const socket = await held;
    await client.close();
    assert.equal(client.state, 'closed');

    const ended = new Promise((resolveEnd) => socket.once('close', resolveEnd));
    const revived = nextEvent(client, 'state', (event) => event.state === 'connected', 15_000).then(() => 'connected', () => 'timeout');
    relay.release(socket); // the upgrade now completes
    const outcome = await Promise.race([ended.then(() => 'released'), revived]);

    assert.equal(outcome, 'released', 'the closed client kept the socket its reconnect opened');
    assert.equal(client.state, 'closed');
    assert.ok(!states.slice(states.indexOf('closed')).includes('connected'), `states after close: ${states.join(', ')}`);
  } finally {
    await client.close();
    relay.close();
  }
});

test('over sse: a subscription whose own stream is refused for too many connections (429) retries until there is room', async () => {
  const limited = await Hub.start({ memory: true, env: { Switchboard__Connections__MaxPerAddress: '1' } });
  const client = await connect(limited.url, { ...options, transports: ['sse'] });
  try {
    const holder = client.subscribe('js.edges.first', () => {}, { after: 0 });
    await holder.ready; // its stream takes the one slot
    const received = [];
    const watch = new Watch();
    const one = watch.until(() => received.length >= 1, 15_000, 'the message');
    const waiting = client.subscribe('js.edges.second', (message) => { received.push(message.payload); watch.tick(); }, { after: 0 });
    let refused;
    waiting.ready.catch((error) => { refused = error; });

    await holder.unsubscribe(); // the slot frees: the second subscription gets in on a later try
    await waiting.ready;
    assert.equal(refused, undefined);
    await client.publish('js.edges.second', 'hello');
    await one;
    assert.deepEqual(received, ['hello']);
  } finally {
    await client.close();
    await limited.stop();
  }
});
