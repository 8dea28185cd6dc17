// The console on a hub that requires credentials: it asks to sign in, refuses a wrong key with the hub's problem, and with
// a good key every part works — the stats stream (EventSource with access_token), REST calls and the JS client.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Hub } from '../client/hub.mjs';
import { launch, openPage, waitForText } from './browser.mjs';

const ADMIN_KEY = 'console-admin-key-0123456789abcdef';
let hub;
let browser;
before(async () => {
  hub = await Hub.start({
    memory: true,
    env: {
      Switchboard__Auth__ApiKeys__0__Name: 'console-admin',
      Switchboard__Auth__ApiKeys__0__Key: ADMIN_KEY,
      Switchboard__Auth__ApiKeys__0__Scopes__0: 'admin',
    },
  });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
});

const admin = { 'X-Api-Key': ADMIN_KEY };

test('with auth on, the console asks to sign in, refuses a wrong key and works with a good one', async () => {
  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/dashboard`);
  await waitForText(page, 'main h1', { equals: 'Sign in' });
  // The field has focus: the keyboard alone signs in.
  await page.keyboard.type('not-a-key-of-this-hub-000000');
  await page.keyboard.press('Enter');
  const problem = page.locator('.problem[role=alert]');
  await problem.waitFor();
  assert.match(await problem.textContent(), /refused this credential/);

  await page.fill('#credential', ADMIN_KEY);
  await page.press('#credential', 'Enter');
  await waitForText(page, '#stats-state', { equals: 'live' });
  await waitForText(page, '#session', { matches: /Signed in with an API key/ });
  const before = Number((await waitForText(page, '#stat-published', { matches: /^\d/ })).replace(/\D/g, ''));
  await hub.rest('POST', '/v1/topics/secure.news/messages', { payload: 'x' }, admin);
  await waitForText(page, '#stat-published', { equals: String(before + 1) });

  // The tail signs in too: over SSE the key travels as access_token, over WebSocket in the auth frame.
  await page.goto(`${hub.url}/#/topics/secure.news`);
  for (const transport of ['sse', 'websocket']) {
    await page.selectOption('#tail-transport', transport);
    await page.click('#tail-toggle');
    await page.locator(`#tail-using[data-transport="${transport}"]`).waitFor();
    await hub.rest('POST', '/v1/topics/secure.news/messages', { payload: `secret over ${transport}` }, admin);
    await page.locator('#tail-feed li', { hasText: `secret over ${transport}` }).waitFor();
    await page.click('#tail-toggle');
    await waitForText(page, '#tail-state', { equals: 'Stopped.' });
  }

  // Signing out forgets the key.
  await page.goto(`${hub.url}/#/connections`);
  await page.locator('#connections-count').waitFor();
  await page.click('#session button');
  await waitForText(page, 'main h1', { equals: 'Sign in' });
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.deepEqual(page.problems, []);
});

test('the stats stream and the console\'s API calls need the credential', async () => {
  const stats = await fetch(`${hub.url}/v1/sys/stats`);
  assert.equal(stats.status, 401);
  const ok = await fetch(`${hub.url}/v1/sys/stats`, { headers: admin });
  assert.equal(ok.status, 200);
  assert.ok('totals' in (await ok.json()));
  // The page itself and its assets are served without one (they hold no data), with a CSP that allows this origin only.
  const index = await fetch(`${hub.url}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-security-policy'), /default-src 'self'/);
  assert.match(index.headers.get('content-security-policy'), /script-src 'self'/);
  const script = await fetch(`${hub.url}/console/js/app.js`);
  assert.equal(script.status, 200);
  const etag = script.headers.get('etag');
  assert.equal((await fetch(`${hub.url}/console/js/app.js`, { headers: { 'If-None-Match': etag } })).status, 304);
});

test('signing in with a token (a JWT) works as well as with a key', async () => {
  const secret = 'console-test-secret-0123456789abcdef-0123456789';
  const jwtHub = await Hub.start({
    memory: true,
    env: { Switchboard__Auth__Jwt__Secret: secret, Switchboard__Auth__Jwt__Issuer: 'console-tests', Switchboard__Auth__Jwt__Audience: 'switchboard' },
  });
  try {
    const { createHmac } = await import('node:crypto');
    const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: 'operator', scope: 'admin', iss: 'console-tests', aud: 'switchboard', exp: Math.floor(Date.now() / 1000) + 600 })}`;
    const token = `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;

    const page = await openPage(browser);
    await page.goto(`${jwtHub.url}/#/dashboard`);
    await waitForText(page, 'main h1', { equals: 'Sign in' });
    await page.check('input[name="kind"][value="token"]');
    await page.fill('#credential', token);
    await page.click('form button[type=submit]');
    await waitForText(page, '#stats-state', { equals: 'live' });
    await waitForText(page, '#session', { matches: /Signed in with a token/ });
    await page.goto(`${jwtHub.url}/#/connections`);
    // The dashboard's stats stream was this page's; the connections list answers with the token too.
    await page.locator('#connections-count').waitFor();
    assert.deepEqual(page.problems, []);
  } finally {
    await jwtHub.stop();
  }
});
