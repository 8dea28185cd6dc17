// The hub serves the client at /client.js (its modules under /client/, types at /client.d.ts) so a page can import it:
// fetched from the real hub, written to a folder as the URLs lay it out, imported, and used against the same hub.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { Hub, Watch } from './hub.mjs';

const source = resolve(dirname(fileURLToPath(import.meta.url)), '../../../clients/js');

let hub;
before(async () => { hub = await Hub.start({ memory: true }); });
after(async () => { await hub?.stop(); });

/** The relative imports of a module ("./client/core.js", "./util.js"). */
function importsOf(text) {
  return [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1]);
}

test('/client.js and every module it imports are served as JavaScript with a strong ETag, the bytes of clients/js', async () => {
  const seen = new Set();
  const queue = ['/client.js'];
  while (queue.length > 0 && seen.size < 50) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    const response = await fetch(hub.url + path);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8', path);
    assert.match(response.headers.get('etag'), /^"[0-9a-f]{32}"$/, path);
    assert.match(response.headers.get('cache-control'), /no-cache/, path);
    const text = await response.text();
    assert.equal(text, readFileSync(join(source, path), 'utf8'), `${path} is clients/js${path}`);
    for (const specifier of importsOf(text)) queue.push(new URL(specifier, `http://x${path}`).pathname);
  }
  assert.ok(seen.has('/client/core.js') && seen.has('/client/ws.js') && seen.has('/client/sse.js') && seen.has('/client/longpoll.js'), [...seen].join(', '));

  const again = await fetch(`${hub.url}/client.js`, { headers: { 'If-None-Match': (await fetch(`${hub.url}/client.js`)).headers.get('etag') } });
  assert.equal(again.status, 304);
  const types = await fetch(`${hub.url}/client.d.ts`);
  assert.equal(types.status, 200);
  assert.match(await types.text(), /export declare function connect/);
  assert.equal((await fetch(`${hub.url}/client/nothing-here.js`)).status, 404);
});

test('the served client imports and works: a page-like import of /client.js publishes and subscribes', async () => {
  const folder = mkdtempSync(join(tmpdir(), 'sb-served-'));
  try {
    const queue = ['/client.js'];
    const seen = new Set();
    while (queue.length > 0 && seen.size < 50) {
      const path = queue.shift();
      if (seen.has(path)) continue;
      seen.add(path);
      const text = await (await fetch(hub.url + path)).text();
      mkdirSync(dirname(join(folder, path)), { recursive: true });
      writeFileSync(join(folder, path), text);
      for (const specifier of importsOf(text)) queue.push(new URL(specifier, `http://x${path}`).pathname);
    }
    const { connect } = await import(pathToFileURL(join(folder, 'client.js')).href);
    const client = await connect(hub.url, { WebSocket });
    try {
      const received = [];
      const watch = new Watch();
      const subscription = client.subscribe('js.served', (message) => { received.push(message.payload); watch.tick(); });
      await subscription.ready;
      await client.publish('js.served', { from: 'the served module' });
      await watch.until(() => received.length === 1, 15_000, 'the message');
      assert.deepEqual(received, [{ from: 'the served module' }]);
    } finally {
      await client.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
