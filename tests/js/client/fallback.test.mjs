// Fallback between transports through a real proxy in front of the real hub: one that refuses WebSocket upgrades
// (the client falls back to SSE), and one that also buffers event streams (the client falls back to long polling).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { connect, SwitchboardClient } from '../../../clients/js/client.js';
import { Hub, Watch } from './hub.mjs';
import { startProxy } from './proxy.mjs';

let hub;
before(async () => { hub = await Hub.start({ memory: true }); });
after(async () => { await hub?.stop(); });

async function roundTrip(client, topic) {
  const watch = new Watch();
  const received = [];
  const done = watch.until(() => received.length === 2, 15_000, '2 messages');
  const subscription = client.subscribe(topic, (message) => { received.push(message.payload); watch.tick(); });
  await subscription.ready;
  await client.publish(topic, { n: 1 });
  await client.publish(topic, { n: 2 });
  await done;
  return received;
}

test('a proxy that refuses WebSocket upgrades: the client falls back to SSE and works through it', async () => {
  const proxy = await startProxy(hub.url);
  let client;
  try {
    // Through the hub directly the client uses the WebSocket: the proxy, not the hub, is what changes the transport.
    const direct = await connect(hub.url, { WebSocket });
    assert.equal(direct.transport, 'websocket');
    await direct.close();

    client = await connect(proxy.url, { WebSocket, transports: ['websocket', 'sse', 'longpolling'] });
    assert.equal(client.transport, 'sse');
    assert.equal(proxy.counts.upgrades, 1);
    assert.deepEqual(await roundTrip(client, 'js.fallback.sse'), [{ n: 1 }, { n: 2 }]);
    assert.ok(proxy.counts.events >= 2, 'the probe and the subscription streamed through the proxy');
    // The history the hub holds is what the client published, once each.
    assert.deepEqual((await hub.history('js.fallback.sse')).map((m) => m.payload), [{ n: 1 }, { n: 2 }]);
  } finally {
    await client?.close();
    await proxy.close();
  }
});

test('the fallback event says why each transport was passed over', async () => {
  const proxy = await startProxy(hub.url);
  const reasons = [];
  try {
    // connect() has no client to listen on before it returns, so watch through a client made by hand.
    const client = new SwitchboardClient(proxy.url, { WebSocket });
    client.on('fallback', (event) => reasons.push(`${event.transport}: ${event.error.message}`));
    await client.start();
    assert.equal(client.transport, 'sse');
    assert.equal(reasons.length, 1);
    assert.match(reasons[0], /^websocket: .*403/);
    await client.close();
  } finally {
    await proxy.close();
  }
});

test('a proxy that refuses upgrades and buffers event streams: the client falls back to long polling and works through it', async () => {
  const proxy = await startProxy(hub.url, { events: 'buffer' });
  let client;
  try {
    const started = Date.now();
    client = await connect(proxy.url, { WebSocket, probeTimeout: 1500 });
    assert.equal(client.transport, 'longpolling');
    assert.ok(Date.now() - started >= 1400, 'SSE was given its probe time before the client moved on');
    assert.deepEqual(await roundTrip(client, 'js.fallback.longpolling'), [{ n: 1 }, { n: 2 }]);
    assert.equal(proxy.counts.upgrades, 1);
    assert.equal(proxy.counts.events, 1, 'only the probe asked for an event stream');
  } finally {
    await client?.close();
    await proxy.close();
  }
});

test('transports can be pinned: websocket only through a proxy that refuses it fails to connect with the reason', async () => {
  const proxy = await startProxy(hub.url);
  try {
    await assert.rejects(connect(proxy.url, { WebSocket, transports: ['websocket'] }), (error) => {
      assert.equal(error.code, 'unavailable');
      assert.match(error.message, /websocket: .*403/);
      return true;
    });
  } finally {
    await proxy.close();
  }
});
