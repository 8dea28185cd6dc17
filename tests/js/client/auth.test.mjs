// The client against a hub that requires credentials (API keys from Switchboard__Auth__ApiKeys__N__…, see
// docs/security.md): the key on every transport, a missing or wrong key, and scopes that refuse some topics.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { connect } from '../../../clients/js/client.js';
import { Hub, Watch, nextEvent } from './hub.mjs';

const ADMIN_KEY = 'js-client-admin-key-0123456789abcdef';
const LIMITED_KEY = 'js-client-limited-key-0123456789abcdef';

let hub;
before(async () => {
  hub = await Hub.start({
    memory: true,
    env: {
      Switchboard__Auth__ApiKeys__0__Name: 'js-admin',
      Switchboard__Auth__ApiKeys__0__Key: ADMIN_KEY,
      Switchboard__Auth__ApiKeys__0__Scopes__0: 'admin',
      Switchboard__Auth__ApiKeys__1__Name: 'js-limited',
      Switchboard__Auth__ApiKeys__1__Key: LIMITED_KEY,
      Switchboard__Auth__ApiKeys__1__Scopes__0: 'publish:js.ok.>',
      Switchboard__Auth__ApiKeys__1__Scopes__1: 'subscribe:js.ok.>',
    },
  });
});
after(async () => { await hub?.stop(); });

const variants = [
  { name: 'websocket', options: { transports: ['websocket'], WebSocket } },
  { name: 'sse', options: { transports: ['sse'] } },
  { name: 'sse with an EventSource', options: { transports: ['sse'], EventSource }, transport: 'sse' },
  { name: 'longpolling', options: { transports: ['longpolling'] } },
];

describe('with an API key', () => {
  for (const variant of variants) {
    test(`publish and subscribe over ${variant.name}`, async () => {
      const client = await connect(hub.url, { ...variant.options, apiKey: ADMIN_KEY });
      try {
        assert.equal(client.transport, variant.transport ?? variant.name);
        const topic = `js.auth.${variant.name.replace(/ /g, '-')}`;
        const received = [];
        const watch = new Watch();
        const subscription = client.subscribe(topic, (message) => { received.push(message.payload); watch.tick(); });
        await subscription.ready;
        await client.publish(topic, 'secret');
        await watch.until(() => received.length === 1, 15_000, 'the message');
        assert.deepEqual(received, ['secret']);
      } finally {
        await client.close();
      }
    });
  }

  test('queues and request/reply carry the key too', async () => {
    const client = await connect(hub.url, { WebSocket, apiKey: ADMIN_KEY });
    try {
      await client.send('js.auth.jobs', 1);
      const [message] = await client.receive('js.auth.jobs', { wait: 5 });
      assert.equal(message.payload, 1);
      await message.ack();
      const responder = client.respond('js.auth.rpc', (request) => request.payload * 2);
      try {
        assert.equal((await client.request('js.auth.rpc', 21, { timeout: 20 })).payload, 42);
      } finally {
        await responder.stop();
      }
    } finally {
      await client.close();
    }
  });

  test('the same key as a token (Authorization: Bearer) works too', async () => {
    const client = await connect(hub.url, { transports: ['longpolling'], token: () => ADMIN_KEY });
    try {
      assert.equal((await client.publish('js.auth.token', 1)).offset, 1);
    } finally {
      await client.close();
    }
  });
});

test('a wrong key: connect rejects with unauthorized and the close code', async () => {
  await assert.rejects(connect(hub.url, { WebSocket, apiKey: 'not-a-key-of-this-hub-at-all' }), (error) => {
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.closeCode, 4401);
    assert.ok(error.reason.length > 0, 'the hub says why');
    return true;
  });
  await assert.rejects(connect(hub.url, { transports: ['sse'], apiKey: 'not-a-key-of-this-hub-at-all' }), (error) => {
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.status, 401);
    return true;
  });
});

test('no key on a hub that needs one: calls are refused with unauthorized, and the WebSocket closes with 4401', async () => {
  const client = await connect(hub.url, { WebSocket });
  const closed = nextEvent(client, 'state', (event) => event.state === 'closed', 15_000);
  const subscription = client.subscribe('js.auth.none', () => {}, { onError: () => {} });
  await assert.rejects(subscription.ready, (error) => error.code === 'unauthorized' && error.status === 401);
  await assert.rejects(client.publish('js.auth.none', 1), (error) => error.code === 'unauthorized' && error.closeCode === 4401 && /credentials/.test(error.reason));
  const { error } = await closed;
  assert.equal(error.code, 'unauthorized');
  assert.equal(client.state, 'closed');
});

for (const variant of variants) {
  test(`scopes over ${variant.name}: a topic outside them is refused with forbidden, the rest carries on`, async () => {
    const client = await connect(hub.url, { ...variant.options, apiKey: LIMITED_KEY });
    try {
      const refused = client.subscribe('js.secret.stuff', () => {}, { onError: () => {} });
      await assert.rejects(refused.ready, (error) => error.code === 'forbidden' && /subscribe/.test(error.detail));
      await assert.rejects(client.publish('js.secret.stuff', 1), (error) => error.code === 'forbidden' && /publish/.test(error.detail));
      const topic = `js.ok.${variant.name.replace(/ /g, '-')}`;
      const received = [];
      const watch = new Watch();
      const allowed = client.subscribe(topic, (message) => { received.push(message.payload); watch.tick(); });
      await allowed.ready;
      await client.publish(topic, 'fine');
      await watch.until(() => received.length === 1, 15_000, 'the allowed message');
      assert.equal(client.state, 'connected');
    } finally {
      await client.close();
    }
  });
}
