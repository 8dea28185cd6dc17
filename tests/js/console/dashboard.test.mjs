// The dashboard against the real hub in real Chromium: its figures arrive over the hub's $sys stream (no polling timer in
// the page) and move when the hub does; it reads on a phone-sized screen, and every control has a label.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub } from '../client/hub.mjs';
import { launch, openPage, waitForText } from './browser.mjs';

let hub;
let browser;
before(async () => {
  hub = await Hub.start({ memory: true });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
});

const count = (text) => Number(text.replace(/[^0-9]/g, ''));

test('the dashboard counter moves after a publish, pushed by the hub', async () => {
  const page = await openPage(browser);
  // Count the page's own requests: the figures must come from one event stream, not from repeated fetches.
  const statsRequests = [];
  page.on('request', (request) => { if (request.url().includes('/v1/sys/stats')) statsRequests.push(request.url()); });
  await page.goto(`${hub.url}/#/dashboard`);
  await waitForText(page, '#stats-state', { equals: 'live' });
  const before = count(await waitForText(page, '#stat-published', { matches: /^\d/ }));

  const published = await hub.rest('POST', '/v1/topics/dash.orders/messages', { payload: { n: 1 } });
  assert.equal(published.status, 201);
  await hub.rest('POST', '/v1/topics/dash.orders/messages', { messages: [{ payload: 2 }, { payload: 3 }] });

  const afterText = await waitForText(page, '#stat-published', { equals: String(before + 3) });
  assert.equal(count(afterText), before + 3);
  // The REST row of the per-protocol table counts them too.
  await page.waitForFunction(() => [...document.querySelectorAll('#protocol-table tbody tr')]
    .some((row) => row.cells[0].textContent === 'REST'));
  assert.equal(statsRequests.length, 1, `one stats stream, no polling: ${statsRequests.join(', ')}`);
  assert.deepEqual(page.problems, []);
});

test('queue depths show up as the hub reports them, and a subscriber counts as a connection', async () => {
  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/dashboard`);
  await waitForText(page, '#stats-state', { equals: 'live' });
  assert.equal((await hub.rest('PUT', '/v1/queues/dash-jobs', {})).status, 201);
  for (let i = 0; i < 3; i++) await hub.rest('POST', '/v1/queues/dash-jobs/messages', { payload: { i } });
  await page.locator('#queue-bars [data-queue="dash-jobs"]').waitFor();
  await waitForText(page, '#queue-bars [data-queue="dash-jobs"] span.muted', { equals: '3' });

  // An SSE subscriber (a plain HTTP stream from Node) shows as a connection on the dashboard.
  const abort = new AbortController();
  const stream = await fetch(`${hub.url}/v1/topics/dash.orders/events`, { headers: { Accept: 'text/event-stream' }, signal: abort.signal });
  assert.equal(stream.status, 200);
  try {
    await waitForText(page, '#stat-connections', { matches: /^[1-9]/ });
  } finally {
    abort.abort();
  }
  assert.deepEqual(page.problems, []);
});

test('on a phone-sized screen nothing needs sideways scrolling, and every control has a label', async () => {
  const page = await openPage(browser, { viewport: { width: 375, height: 740 } });
  for (const section of ['dashboard', 'topics', 'queues', 'connections', 'chat', 'advisor']) {
    await page.goto(`${hub.url}/#/${section}`);
    await page.locator('main h1').waitFor();
    await page.waitForFunction(() => !document.querySelector('main')?.textContent?.startsWith('Loading'));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${section} is ${overflow}px wider than the screen`);
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
      .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim())))
      .map((e) => e.outerHTML.slice(0, 80)));
    assert.deepEqual(unlabelled, [], `${section}: controls without a label`);
  }
  // The sections are reachable from the keyboard: Tab from the top lands on the skip link, then the navigation.
  await page.goto('about:blank');
  await page.goto(`${hub.url}/#/dashboard`);
  await page.locator('#stats-state').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  for (let i = 0; i < 3; i++) await page.keyboard.press('Tab'); // the brand, Dashboard, Topics
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '#/topics');
  await page.keyboard.press('Enter');
  await waitForText(page, 'main h1', { equals: 'Topics' });
  assert.deepEqual(page.problems, []);
});
