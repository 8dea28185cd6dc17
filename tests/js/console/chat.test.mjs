// The chat demo: two pages in a room talk over WebSocket; a page behind a proxy that refuses WebSocket upgrades falls back
// to SSE with REST publishes (the JS client does it) and still talks with the others, and says which transport it uses.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub } from '../client/hub.mjs';
import { startProxy } from '../client/proxy.mjs';
import { launch, openPage, waitForText } from './browser.mjs';

let hub;
let browser;
before(async () => {
  // The proxy's page is another origin than the hub's own; streams from it are allowed by the hub's origin list.
  hub = await Hub.start({ memory: true, env: { Switchboard__AllowedOrigins__0: '*' } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
});

async function join(page, base, name, room) {
  await page.goto(`${base}/#/chat`);
  await page.fill('#chat-nick', name);
  await page.fill('#chat-room', room);
  await page.click('#chat-join');
  await page.locator('#chat-text:enabled').waitFor();
}

async function say(page, text) {
  await page.fill('#chat-text', text);
  await page.press('#chat-text', 'Enter');
}

test('two pages chat over WebSocket', async () => {
  const alice = await openPage(browser);
  const bob = await openPage(browser);
  await join(alice, hub.url, 'alice', 'ws-room');
  await join(bob, hub.url, 'bob', 'ws-room');
  for (const page of [alice, bob]) {
    assert.equal(await page.locator('#chat-transport').getAttribute('data-transport'), 'websocket');
  }
  await say(alice, 'hi bob');
  await bob.locator('#chat-feed li', { hasText: 'alice: hi bob' }).waitFor();
  await say(bob, 'hi alice');
  await alice.locator('#chat-feed li', { hasText: 'bob: hi alice' }).waitFor();
  // Each sees both lines, in order.
  const lines = await alice.locator('#chat-feed li strong').allTextContents();
  assert.deepEqual(lines, ['alice: ', 'bob: ']);
  // A page that joins later sees the room's recent history.
  const carol = await openPage(browser);
  await join(carol, hub.url, 'carol', 'ws-room');
  await carol.locator('#chat-feed li', { hasText: 'bob: hi alice' }).waitFor();
  for (const page of [alice, bob, carol]) assert.deepEqual(page.problems, []);
});

test('with WebSocket blocked, a page falls back to SSE + REST publishes and still chats', async () => {
  const proxy = await startProxy(hub.url);
  try {
    const direct = await openPage(browser);
    const behind = await openPage(browser, { allow: [/WebSocket connection to .* failed/] });
    await join(direct, hub.url, 'dana', 'mixed-room');
    await join(behind, proxy.url, 'eve', 'mixed-room');
    assert.equal(await direct.locator('#chat-transport').getAttribute('data-transport'), 'websocket');
    assert.equal(await behind.locator('#chat-transport').getAttribute('data-transport'), 'sse');
    await waitForText(behind, '#chat-transport', { equals: 'SSE + REST publishes' });
    await behind.locator('#chat-fallbacks li', { hasText: 'websocket passed over' }).waitFor();
    assert.ok(proxy.counts.upgrades >= 1, 'the page tried the WebSocket first');

    await say(behind, 'sent over REST');
    await direct.locator('#chat-feed li', { hasText: 'eve: sent over REST' }).waitFor();
    await say(direct, 'sent over the WebSocket');
    await behind.locator('#chat-feed li', { hasText: 'dana: sent over the WebSocket' }).waitFor();
    assert.deepEqual(direct.problems, []);
    assert.deepEqual(behind.problems, []);
  } finally {
    await proxy.close();
  }
});
