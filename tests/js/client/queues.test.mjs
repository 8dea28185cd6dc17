// Queues and request/reply through the client, against the real hub: send, receive, ack, nack (redelivery, dead
// letters), and a requester and a responder that are both the client.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { connect } from '../../../clients/js/client.js';
import { Hub } from './hub.mjs';

let hub;
let client;
before(async () => {
  hub = await Hub.start({ memory: true });
  client = await connect(hub.url, { WebSocket });
});
after(async () => {
  await client?.close();
  await hub?.stop();
});

test('send, receive and ack: a message is delivered to one consumer and gone once acked', async () => {
  const sent = await client.send('js.jobs', { job: 1 }, { headers: { kind: 'test' } });
  assert.equal(sent.queue, 'js.jobs');
  const [message, ...rest] = await client.receive('js.jobs', { max: 10, wait: 5 });
  assert.equal(rest.length, 0);
  assert.equal(message.id, sent.id);
  assert.deepEqual(message.payload, { job: 1 });
  assert.deepEqual(message.headers, { kind: 'test' });
  assert.equal(message.attempts, 1);
  await message.ack();
  const stats = (await hub.rest('GET', '/v1/queues/js.jobs')).body.stats;
  assert.equal(stats.ready + stats.leased + stats.delayed, 0);
  assert.deepEqual(await client.receive('js.jobs', { wait: 0 }), []);
});

test('a received batch is acked in one call; a message whose lease is gone is reported, not thrown', async () => {
  for (let i = 0; i < 5; i++) await client.send('js.batch', { n: i });
  const messages = await client.receive('js.batch', { max: 5, wait: 5 });
  assert.equal(messages.length, 5);
  await messages[3].ack(); // settled on its own first: its lease is gone when the batch comes

  const failures = await client.ack(messages);

  assert.equal(failures.length, 1);
  assert.equal(failures[0].message, messages[3]);
  assert.ok(['message-not-found', 'lease-mismatch'].includes(failures[0].error.code), failures[0].error.code);
  assert.equal(typeof failures[0].error.status, 'number');
  const stats = (await hub.rest('GET', '/v1/queues/js.batch')).body.stats;
  assert.equal(stats.ready + stats.leased + stats.delayed, 0);
  // A list that mixes queues or names a message twice is refused before anything is sent.
  await client.send('js.batch.other', 'x');
  const [other] = await client.receive('js.batch.other', { wait: 5 });
  await assert.rejects(client.ack([messages[0], other]), TypeError);
  await assert.rejects(client.ack([other, other]), TypeError);
  assert.equal((await hub.rest('GET', '/v1/queues/js.batch.other')).body.stats.leased, 1);
});

test('a receive that waits is answered by the send', async () => {
  assert.equal((await hub.rest('PUT', '/v1/queues/js.wait', {})).status, 201);
  const waiting = client.receive('js.wait', { wait: 20 });
  await client.send('js.wait', 'wake');
  const messages = await waiting;
  assert.deepEqual(messages.map((m) => m.payload), ['wake']);
  await messages[0].ack();
});

test('nack with a delay: the message comes back with attempts + 1 and the error; after maxAttempts it is dead-lettered', async () => {
  assert.equal((await hub.rest('PUT', '/v1/queues/js.retry', { maxAttempts: 2 })).status, 201);
  await client.send('js.retry', { try: 'me' });
  const [first] = await client.receive('js.retry', { wait: 5 });
  const nacked = await first.nack({ delay: 0.2, error: 'first failure' });
  assert.equal(nacked.deadLettered, false);
  const [second] = await client.receive('js.retry', { wait: 10 });
  assert.equal(second.id, first.id);
  assert.equal(second.attempts, 2);
  const dead = await second.nack({ error: 'second failure' });
  assert.equal(dead.deadLettered, true);
  const letters = (await hub.rest('GET', '/v1/queues/js.retry/dead-letters')).body;
  assert.equal(letters.messages.length, 1);
  const letter = letters.messages[0];
  assert.equal(letter.id, first.id);
  assert.equal(letter.lastError, 'second failure');
});

test('settling with a lease that ran out is refused with the hub\'s code', async () => {
  await client.send('js.lease', 1);
  const [message] = await client.receive('js.lease', { wait: 5, lease: 1 });
  await message.nack({ delay: 0 }); // gives the lease up; the token is no longer the message's
  await assert.rejects(message.ack(), (error) => {
    assert.equal(error.status, 409);
    assert.match(error.code, /^lease-(mismatch|expired)$/);
    assert.ok(error.detail.length > 0);
    return true;
  });
});

test('request and respond: the requester gets the responder\'s reply, and the request is acked with it', async () => {
  const responder = client.respond('js.rpc', async (request) => ({ sum: request.payload.a + request.payload.b }), { concurrency: 2 });
  try {
    const replies = await Promise.all([1, 2, 3].map((a) => client.request('js.rpc', { a, b: 10 }, { timeout: 20 })));
    assert.deepEqual(replies.map((r) => r.payload), [{ sum: 11 }, { sum: 12 }, { sum: 13 }]);
    const stats = (await hub.rest('GET', '/v1/queues/js.rpc')).body.stats;
    assert.equal(stats.ready + stats.leased, 0, 'every request was acked by its reply');
  } finally {
    await responder.stop();
  }
});

test('a responder that throws nacks the request with the error; the next attempt can answer it', async () => {
  let calls = 0;
  assert.equal((await hub.rest('PUT', '/v1/queues/js.flaky', { backoff: { initial: '1s', max: '1s' } })).status, 201);
  const responder = client.respond('js.flaky', (request) => {
    calls++;
    if (request.attempts === 1) throw new Error('not yet');
    return { attempts: request.attempts };
  });
  try {
    const reply = await client.request('js.flaky', 'hello', { timeout: 20 });
    assert.deepEqual(reply.payload, { attempts: 2 });
    assert.equal(calls, 2);
  } finally {
    await responder.stop();
  }
});

test('a request nobody answers rejects with timeout', async () => {
  const started = Date.now();
  await assert.rejects(client.request('js.nobody', 'anyone?', { timeout: 1 }), (error) => {
    assert.equal(error.code, 'timeout');
    assert.equal(error.status, 504);
    return true;
  });
  assert.ok(Date.now() - started < 10_000);
});

test('closing the client ends a waiting receive and a pending publish with closed', async () => {
  const other = await connect(hub.url, { WebSocket });
  assert.equal((await hub.rest('PUT', '/v1/queues/js.closing', {})).status, 201);
  const waiting = other.receive('js.closing', { wait: 30 });
  const started = Date.now();
  await other.close();
  await assert.rejects(waiting, (error) => error.code === 'closed');
  await assert.rejects(other.publish('js.closing.topic', 1), (error) => error.code === 'closed');
  assert.ok(Date.now() - started < 5000, 'the receive did not wait out its 30 s');
  assert.equal(other.state, 'closed');
});
