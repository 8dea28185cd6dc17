// Takes the console's screenshots for the docs (docs/img/console-*.png): a real hub (in memory) with some traffic of
// every kind, and Debian's Chromium. Run after a Release build:
//
//   cd tests/js && node console/screenshots.mjs
//
// Not a test (it writes files into docs/); the browser tests are the *.test.mjs files beside it.

import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hub } from '../client/hub.mjs';
import { launch, openPage, waitForText } from './browser.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const out = join(root, 'docs', 'img');
mkdirSync(out, { recursive: true });

const hub = await Hub.start({ memory: true, env: { Switchboard__Console__BenchResults: join(root, 'bench') } });
const browser = await launch();
const timers = [];
try {
  // Queues: work waiting, and a few dead letters with reasons.
  await hub.rest('PUT', '/v1/queues/emails', { maxAttempts: 1 });
  await hub.rest('PUT', '/v1/queues/orders', {});
  for (let i = 0; i < 12; i++) await hub.rest('POST', '/v1/queues/orders/messages', { payload: { order: 1000 + i } });
  for (const [to, error] of [['ann@example.com', 'smtp 550: mailbox unavailable'], ['bo@example.com', 'template missing: welcome-v2']]) {
    await hub.rest('POST', '/v1/queues/emails/messages', { payload: { to } });
    const { body } = await hub.rest('POST', '/v1/queues/emails/receive?max=1');
    const [m] = body.messages;
    await hub.rest('POST', `/v1/queues/emails/messages/${m.id}/nack`, { lease: m.lease, error });
  }
  for (let i = 0; i < 5; i++) await hub.rest('POST', '/v1/queues/emails/messages', { payload: { to: `user${i}@example.com` } });

  // Subscribers on three transports: two chat tabs (WebSocket), a tail over SSE, a tail over long polling.
  const alice = await openPage(browser, { viewport: { width: 900, height: 640 } });
  const bob = await openPage(browser, { viewport: { width: 900, height: 640 } });
  for (const [page, name] of [[alice, 'alice'], [bob, 'bob']]) {
    await page.goto(`${hub.url}/#/chat`);
    await page.fill('#chat-nick', name);
    await page.click('#chat-join');
    await page.locator('#chat-text:enabled').waitFor();
  }
  for (const [page, text] of [[alice, 'Morning! Is the deploy done?'], [bob, 'Yes, 4 nodes up, dashboards green.'], [alice, 'Great, thanks']]) {
    await page.fill('#chat-text', text);
    await page.press('#chat-text', 'Enter');
    await bob.locator('#chat-feed li', { hasText: text }).waitFor();
  }
  await hub.rest('POST', '/v1/topics/orders.eu.created/messages', { payload: { id: 0, total: 9.5 } });
  const tails = [];
  for (const transport of ['sse', 'longpolling']) {
    const page = await openPage(browser);
    await page.goto(`${hub.url}/#/topics/orders.eu.created`);
    await page.selectOption('#tail-transport', transport);
    await page.click('#tail-toggle');
    await page.locator(`#tail-using[data-transport="${transport}"]`).waitFor();
    tails.push(page);
  }

  // Traffic for the charts: bounded bursts of publishes, a few a second, for the length of the screenshots.
  let n = 0;
  const publish = () => {
    if (n > 2000) return;
    const count = 5 + (n % 7);
    n += count;
    hub.rest('POST', '/v1/topics/orders.eu.created/messages', { messages: Array.from({ length: count }, (_, i) => ({ payload: { id: n + i, total: 9.5 } })) }).catch(() => {});
  };
  timers.push(setInterval(publish, 250));

  const page = await openPage(browser, { viewport: { width: 1280, height: 900 } });
  await page.goto(`${hub.url}/#/dashboard`);
  await waitForText(page, '#stats-state', { equals: 'live' });
  await page.waitForFunction(() => document.querySelectorAll('#queue-bars .bar').length >= 2);
  await page.waitForTimeout(12_000); // let the charts fill a few seconds of history: a picture, not a test
  await page.screenshot({ path: join(out, 'console-dashboard.png'), fullPage: true });

  await tails[0].screenshot({ path: join(out, 'console-topic.png'), fullPage: true });
  await page.goto(`${hub.url}/#/queues/emails`);
  await page.locator('#queue-list table').waitFor();
  await page.locator('button[data-redrive]').first().waitFor();
  await page.screenshot({ path: join(out, 'console-queues.png'), fullPage: true });
  await page.goto(`${hub.url}/#/connections`);
  await page.locator('#connections-count').waitFor();
  await page.locator('section[aria-labelledby="nodes-title"] table').waitFor();
  await page.screenshot({ path: join(out, 'console-connections.png'), fullPage: true });
  await bob.screenshot({ path: join(out, 'console-chat.png'), fullPage: true });
  await page.goto(`${hub.url}/#/advisor`);
  await page.check('input[name="direction"][value="both"]');
  await page.locator('#advice-protocol[data-protocol="websocket"]').waitFor();
  await page.locator('#comparison').waitFor();
  await page.screenshot({ path: join(out, 'console-advisor.png'), fullPage: true });

  const phone = await openPage(browser, { viewport: { width: 390, height: 844 } });
  await phone.goto(`${hub.url}/#/dashboard`);
  await waitForText(phone, '#stats-state', { equals: 'live' });
  await phone.waitForTimeout(3_000);
  await phone.screenshot({ path: join(out, 'console-phone.png') });
  console.log(`screenshots written to ${out}`);
} finally {
  for (const timer of timers) clearInterval(timer);
  await browser.close();
  await hub.stop();
}
