// The protocol advisor: the page's answer comes from the same decision table and code as `switchboard advise`, so for the
// same answers both recommend the same protocol; with bench results present the comparison shows measured figures.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Hub, cliPath } from '../client/hub.mjs';
import { launch, openPage, waitForText } from './browser.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
let hub;
let browser;
before(async () => {
  hub = await Hub.start({ memory: true, env: { Switchboard__Console__BenchResults: join(root, 'bench') } });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await hub?.stop();
});

function cli(answers) {
  const args = Object.entries(answers).flatMap(([q, v]) => [`--${q}`, v]);
  return JSON.parse(execFileSync('dotnet', [cliPath, 'advise', ...args, '--json'], { encoding: 'utf8', env: { ...process.env, DOTNET_NOLOGO: '1' } }));
}

const cases = [
  { answers: { client: 'browser', direction: 'both' }, protocol: 'websocket', name: 'WebSocket' },
  { answers: { client: 'browser', direction: 'push' }, protocol: 'sse', name: 'Server-Sent Events' },
  { answers: { client: 'service', direction: 'both' }, protocol: 'grpc', name: 'gRPC' },
  { answers: { client: 'service', direction: 'push', durable: 'yes' }, protocol: 'queue', name: 'Message queue' },
  { answers: { client: 'browser', direction: 'push', network: 'no-streaming' }, protocol: 'longpoll', name: 'Long polling' },
  { answers: { client: 'public', direction: 'request' }, protocol: 'rest', name: 'REST' },
];

test('the advisor answers, with the guide\'s reasons, as the command line does', async () => {
  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/advisor`);
  await page.locator('#advice-protocol').waitFor();
  for (const { answers, protocol, name } of cases) {
    // Reset to the defaults, then answer by clicking the labels (as a person would).
    await page.goto(`${hub.url}/#/dashboard`);
    await page.goto(`${hub.url}/#/advisor`);
    await page.locator('#advice-protocol').waitFor();
    for (const [question, value] of Object.entries(answers)) {
      await page.check(`input[name="${question}"][value="${value}"]`);
    }
    await page.click('#advise');
    await page.locator(`#advice-protocol[data-protocol="${protocol}"]`).waitFor();
    assert.equal(await page.locator('#advice-protocol').textContent(), name);
    const reasons = await page.locator('#advice-reasons li').allTextContents();
    assert.ok(reasons.length >= 2 && reasons.some((r) => r.startsWith('Guide, ')), `reasons quote the guide: ${reasons}`);

    const fromCli = cli(answers);
    assert.equal(fromCli.protocol, protocol, `switchboard advise ${JSON.stringify(answers)}`);
    assert.deepEqual(fromCli.reasons, reasons, 'the same reasons on both');
    // The page prints the equivalent command, defaults included.
    const command = await page.locator('#advice-command').textContent();
    for (const [question, value] of Object.entries(answers)) assert.ok(command.includes(`--${question} ${value}`), command);
  }
  assert.deepEqual(page.problems, []);
});

test('the comparison table carries the figures measured by the bench', async () => {
  const page = await openPage(browser);
  await page.goto(`${hub.url}/#/advisor`);
  const table = page.locator('#comparison');
  await table.waitFor();
  const rows = await table.locator('tbody tr').allTextContents();
  assert.equal(rows.length, 4);
  const websocket = rows.find((r) => r.startsWith('WebSocket'));
  assert.match(websocket, /Lowest/);
  assert.match(websocket, /\d+(\.\d+)? ms \/ \d+(\.\d+)? ms/, `measured latency: ${websocket}`);
  // The same figures the hub read from the results files.
  const comparison = await hub.rest('GET', '/console/comparison.json');
  const measured = comparison.body.measured.find((m) => m.protocol === 'websocket');
  assert.ok(measured.latencyP99Ms > 0);
  assert.ok(websocket.includes(`${measured.latencyP99Ms.toLocaleString('en', { maximumFractionDigits: 1 })} ms`), websocket);
  await waitForText(page, '#comparison-title + p', { matches: /bench\/results-/ });
});
