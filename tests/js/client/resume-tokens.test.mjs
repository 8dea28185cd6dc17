// The hub's resume tokens, kept opaque by the client: a pattern over 200 topics (past the 32 a whole p1. token holds, so
// the hub names a stored snapshot: p2.) resumes after a dropped connection with the hub's own token, small, and every
// message exactly once in each topic's order; `after` takes a p2. token the hub gave (a poll's next) and starts exactly
// there; a token the hub never issued fails the subscription with the hub's own reason, not a TypeError.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { connect } from '../../../clients/js/client.js';
import { Hub, Watch, startRelay } from './hub.mjs';

let hub;
before(async () => { hub = await Hub.start({ memory: true }); });
after(async () => { await hub?.stop(); });

const TOPICS = 200;
const options = { WebSocket, reconnectDelay: 50, maxReconnectDelay: 500 };

/** `count` topics under a fresh root, and a publisher of one message to each (in parallel, 20 at a time). */
function topics(name, count = TOPICS) {
  const root = `js.${name}.${Math.random().toString(36).slice(2, 8)}`;
  const names = Array.from({ length: count }, (_, i) => `${root}.t${String(i).padStart(3, '0')}`);
  const publishRound = async (round) => {
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map(async (topic) => {
        const { status } = await hub.rest('POST', `/v1/topics/${topic}/messages`, { payload: { topic, round } });
        assert.equal(status, 201);
      }));
    }
  };
  return { root, names, publishRound };
}

/** A fetch that records the multi-topic token of every event stream opened and every pattern poll asked (not probes). */
function recording(sent) {
  return (url, init) => {
    const target = new URL(url);
    if (target.searchParams.get('topic') !== '_sb-probe.*') {
      if (target.pathname === '/v1/events') sent.push(new Headers(init?.headers).get('Last-Event-ID'));
      if (target.pathname === '/v1/messages') sent.push(target.searchParams.get('after'));
    }
    return fetch(url, init);
  };
}

/** Every message once, each topic's offsets from..rounds in order. */
function assertExactlyOnce(received, names, rounds, from = 1) {
  const byTopic = new Map();
  for (const message of received) {
    if (!byTopic.has(message.topic)) byTopic.set(message.topic, []);
    byTopic.get(message.topic).push(message.offset);
  }
  assert.equal(received.length, names.length * (rounds - from + 1), `received ${received.length} messages`);
  const expected = Array.from({ length: rounds - from + 1 }, (_, i) => i + from);
  for (const topic of names) assert.deepEqual(byTopic.get(topic), expected, `offsets of ${topic}`);
}

for (const transport of ['sse', 'longpolling']) {
  test(`over ${transport}: 200 topics resume after a dropped connection with the hub's small token, every message once`, async () => {
    const relay = await startRelay(new URL(hub.url));
    // What each resume sends: the multi-topic token of every event stream opened and every pattern poll asked.
    const sent = [];
    const client = await connect(relay.url, { ...options, transports: [transport], fetch: recording(sent) });
    const { root, names, publishRound } = topics(`resume-${transport}`);
    const received = [];
    const watch = new Watch();
    try {
      const subscription = client.subscribe(`${root}.>`, (message) => { received.push(message); watch.tick(); }, { after: 0 });
      await subscription.ready;
      const half = watch.until(() => received.length >= TOPICS / 2, 30_000, 'half of the first round');
      const rounds = publishRound(1);
      await half;
      const before = sent.length;
      relay.cut(); // mid-stream: the rest of the round reaches the hub while the client is away
      await rounds;
      await publishRound(2);
      await watch.until(() => received.length >= 2 * TOPICS, 30_000, 'both rounds');

      assertExactlyOnce(received, names, 2);
      const resumes = sent.slice(before);
      assert.ok(resumes.length >= 1, 'the client never resumed');
      assert.ok(resumes[0].startsWith('p2.'), `resumed with ${resumes[0].slice(0, 40)}…: not the hub's snapshot token`);
      for (const token of resumes) assert.ok(token.length < 2200, `a resume sent a token of ${token.length} characters`);
      assert.ok(subscription.position.startsWith('p2.') && subscription.position.length < 2200, `position is ${subscription.position.length} characters`);
    } finally {
      await client.close();
      relay.close();
    }
  });
}

for (const transport of ['sse', 'longpolling']) {
  test(`over ${transport}: a pattern from now over 200 topics sends its pinned positions once, then the hub's token`, async () => {
    const { root, names, publishRound } = topics(`now-${transport}`);
    await publishRound(1);
    const relay = await startRelay(new URL(hub.url));
    const sent = [];
    const client = await connect(relay.url, { ...options, transports: [transport], fetch: recording(sent) });
    const received = [];
    const watch = new Watch();
    try {
      const subscription = client.subscribe(`${root}.>`, (message) => { received.push(message); watch.tick(); });
      await subscription.ready;
      assert.ok(sent[0].startsWith('p1.'), 'the pinned "now" is every position, sent once');
      // No message yet: the stream's first id (SSE) or the first page's next (long polling) is the hub's token for it.
      relay.cut();
      await publishRound(2);
      await watch.until(() => received.length >= TOPICS, 30_000, 'the second round');
      assert.ok(received.every((m) => m.offset === 2), 'a message from before the subscription came');
      assert.equal(new Set(received.map((m) => m.topic)).size, names.length);
      assert.ok(sent.length >= 2, 'the client never resumed');
      for (const token of sent.slice(1)) assert.ok(token.startsWith('p2.') && token.length < 2200, `sent ${token.slice(0, 40)}… (${token.length} characters)`);
    } finally {
      await client.close();
      relay.close();
    }
  });
}

test('over websocket: a subscription that starts at a p2. token resumes after a dropped connection, every message once', async () => {
  const { root, names, publishRound } = topics('p2drop');
  await publishRound(1);
  const { body } = await hub.rest('GET', `/v1/messages?topic=${root}.>&after=0&limit=1000`);
  assert.ok(body.next.startsWith('p2.'));
  const relay = await startRelay(new URL(hub.url));
  const client = await connect(relay.url, { ...options, transports: ['websocket'] });
  let drops = 0;
  client.on('state', (event) => { if (event.state === 'reconnecting' && event.error) drops++; });
  const received = [];
  const watch = new Watch();
  try {
    // The WebSocket carries no token: the resume sends the p2. start again (the client cannot read it), the hub brings
    // the topics moved since from there, and the positions the client kept for them drop what it had.
    const subscription = client.subscribe(`${root}.>`, (message) => { received.push(message); watch.tick(); }, { after: body.next });
    await subscription.ready;
    const half = watch.until(() => received.length >= TOPICS / 2, 30_000, 'half of the second round');
    const round = publishRound(2);
    await half;
    relay.cut();
    await round;
    await publishRound(3);
    await watch.until(() => received.length >= 2 * TOPICS, 30_000, 'the second and third rounds');
    assertExactlyOnce(received, names, 3, 2);
    assert.ok(drops >= 1, 'the connection never dropped');
  } finally {
    await client.close();
    relay.close();
  }
});

for (const transport of ['websocket', 'sse', 'longpolling']) {
  test(`over ${transport}: after = a p2. token from the hub's poll starts exactly there`, async () => {
    const { root, names, publishRound } = topics(`p2after-${transport}`);
    await publishRound(1);
    await publishRound(2);
    // The first 250 messages (in publish order) through the multi-topic poll: its next names a snapshot (p2.).
    const { status, body } = await hub.rest('GET', `/v1/messages?topic=${root}.>&after=0&limit=250`);
    assert.equal(status, 200);
    assert.equal(body.messages.length, 250);
    assert.ok(body.next.startsWith('p2.'), `the poll's next is ${body.next.slice(0, 20)}…`);
    const taken = new Set(body.messages.map((m) => `${m.topic} ${m.offset}`));

    const client = await connect(hub.url, { ...options, transports: [transport] });
    const received = [];
    const watch = new Watch();
    try {
      const subscription = client.subscribe(`${root}.>`, (message) => { received.push(message); watch.tick(); }, { after: body.next });
      await subscription.ready;
      await watch.until(() => received.length >= 2 * TOPICS - 250, 30_000, 'the rest');
      await publishRound(3); // and live after it
      await watch.until(() => received.length >= 3 * TOPICS - 250, 30_000, 'the third round');

      const seen = received.map((m) => `${m.topic} ${m.offset}`);
      assert.equal(new Set(seen).size, seen.length, 'a message came twice');
      assert.ok(!seen.some((key) => taken.has(key)), 'a message before the token came again');
      assert.equal(seen.length, 3 * TOPICS - 250);
      for (const topic of names) {
        const offsets = received.filter((m) => m.topic === topic).map((m) => m.offset);
        assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), `order of ${topic}`);
        assert.equal(offsets.at(-1), 3, `${topic} ends at its third message`);
      }
    } finally {
      await client.close();
    }
  });

  test(`over ${transport}: an after the hub never issued fails the subscription with the hub's invalid-position`, async () => {
    const client = await connect(hub.url, { ...options, transports: [transport] });
    try {
      for (const [pattern, token] of [['js.garbage.>', 'p2.not-a-snapshot'], ['js.garbage.one', 'p1.%%%'], ['js.garbage.>', 'nonsense']]) {
        let subscription;
        assert.doesNotThrow(() => { subscription = client.subscribe(pattern, () => {}, { after: token, onError: () => {} }); });
        await assert.rejects(subscription.ready, (error) => {
          assert.equal(error.code, 'invalid-position', `${token}: ${error.code}: ${error.message}`);
          return true;
        });
      }
      // What the client can tell is wrong is refused at once, before anything is sent.
      for (const [pattern, token] of [['js.garbage.one', ''], ['js.garbage.>', '7'], ['js.garbage.>', 'abc123:4']]) {
        assert.throws(() => client.subscribe(pattern, () => {}, { after: token }), TypeError);
      }
    } finally {
      await client.close();
    }
  });
}

for (const transport of ['websocket', 'sse', 'longpolling']) {
  test(`over ${transport}: an after whose snapshot retention removed reaches the application as the hub's notice or refusal`, async () => {
    // One snapshot kept: the next one the hub stores removes the one before.
    const small = await Hub.start({ memory: true, env: { Switchboard__Resume__SnapshotMaxCount: '1' } });
    const client = await connect(small.url, { ...options, transports: [transport] });
    try {
      const publish = (names, round) => Promise.all(names.map(async (topic) => {
        assert.equal((await small.rest('POST', `/v1/topics/${topic}/messages`, { payload: round })).status, 201);
      }));
      const pollNext = async (root) => (await small.rest('GET', `/v1/messages?topic=${root}.>&after=0&limit=1000`)).body.next;
      const { root, names } = topics(`expired-${transport}`, 40);
      await publish(names, 1);
      const expired = await pollNext(root);
      assert.ok(expired.startsWith('p2.'));
      const other = topics(`other-${transport}`, 40);
      await publish(other.names, 1);
      await pollNext(other.root); // a newer snapshot: the first one is gone

      const notices = [];
      const received = [];
      const watch = new Watch();
      const subscription = client.subscribe(`${root}.>`, (message) => { received.push(message); watch.tick(); },
        { after: expired, onNotice: (notice) => { notices.push(notice); watch.tick(); }, onError: () => {} });
      if (transport === 'websocket') {
        // A subscriber has no stream that could go on and say so: the hub refuses, naming what to do.
        await assert.rejects(subscription.ready, (error) => {
          assert.equal(error.code, 'message-expired', `${error.code}: ${error.message}`);
          return true;
        });
        return;
      }
      await subscription.ready;
      await watch.until(() => notices.length >= 1, 15_000, 'the notice');
      assert.equal(notices[0].kind, 'resume-expired');
      assert.ok(Array.isArray(notices[0].resumedTopics));
      assert.match(notices[0].message, /snapshot/);
      await publish(names, 2); // every topic goes on from now
      await watch.until(() => received.length >= names.length, 15_000, 'the second round');
      assert.ok(received.every((m) => m.offset === 2), 'a message from before the resume came');
      assert.equal(new Set(received.map((m) => m.topic)).size, names.length);
    } finally {
      await client.close();
      await small.stop();
    }
  });
}
