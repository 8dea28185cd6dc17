#!/usr/bin/env node
// Publishes this machine's CPU, memory and load to the topics metrics.cpu, metrics.memory and metrics.load over
// REST, once a second. A dashboard follows them over Server-Sent Events (index.html, watch.mjs).
//
//   node samples/dashboard/producer.mjs [--interval 1000] [--count N]
//
// The hub: SWITCHBOARD_SERVER (or SWITCHBOARD_URL), default http://127.0.0.1:7070; with authentication on,
// SWITCHBOARD_API_KEY (or SWITCHBOARD_TOKEN). The same names as the switchboard command line.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { describe, sampler } from './metrics.mjs';

const USAGE = `usage: node samples/dashboard/producer.mjs [--interval MS] [--count N]

  --interval MS   time between samples in milliseconds (default 1000, at least 100)
  --count N       stop after N samples (default: run until Ctrl-C)

The hub: SWITCHBOARD_SERVER (or SWITCHBOARD_URL), default http://127.0.0.1:7070; with authentication on,
SWITCHBOARD_API_KEY (or SWITCHBOARD_TOKEN): the same names as the switchboard command line.`;

function fail(message, code = 1) {
  console.error(`producer: ${message}`);
  process.exit(code);
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      interval: { type: 'string', default: '1000' },
      count: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  fail(`${error.message}\n${USAGE}`, 2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
const interval = Number(options.interval);
if (!Number.isInteger(interval) || interval < 100) fail(`--interval '${options.interval}': use a whole number of milliseconds, at least 100.\n${USAGE}`, 2);
const count = options.count === undefined ? Infinity : Number(options.count);
if (count !== Infinity && (!Number.isInteger(count) || count < 1)) fail(`--count '${options.count}': use a whole number, at least 1.\n${USAGE}`, 2);
// The switchboard command line's names first, then the samples' older ones.
const hubVariable = process.env.SWITCHBOARD_SERVER ? 'SWITCHBOARD_SERVER' : process.env.SWITCHBOARD_URL ? 'SWITCHBOARD_URL' : 'SWITCHBOARD_SERVER';
const hub = process.env[hubVariable] || 'http://127.0.0.1:7070';
const token = process.env.SWITCHBOARD_API_KEY || process.env.SWITCHBOARD_TOKEN || undefined;
try {
  if (!/^https?:$/.test(new URL(hub).protocol)) throw new Error();
} catch {
  fail(`${hubVariable} '${hub}' is not an http:// or https:// address (e.g. http://127.0.0.1:7070).`, 2);
}
const headers = { 'content-type': 'application/json' };
if (token) headers.authorization = `Bearer ${token}`;

/** POST /v1/topics/{topic}/messages; resolves with the stored position, throws with the hub's own words. */
async function publish(topic, payload) {
  let response;
  try {
    response = await fetch(new URL(`/v1/topics/${topic}/messages`, hub), {
      method: 'POST',
      headers,
      body: JSON.stringify({ payload, key: payload.host }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    throw new Error(`cannot reach the hub at ${hub} (${error.cause?.code ?? error.message}). `
      + 'Start one with: dotnet run --project src/Switchboard.Cli -- serve (or set SWITCHBOARD_SERVER).');
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`the hub refused the publish to ${topic}: ${response.status} ${body.detail ?? body.title ?? ''}`);
  return body; // { topic, epoch, offset, timestamp }
}

const sample = sampler(os.hostname());
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { stopping = true; });
console.log(`publishing metrics.cpu, metrics.memory and metrics.load to ${hub} every ${interval} ms`);

for (let tick = 1; tick <= count && !stopping; tick++) {
  await new Promise((resolve) => setTimeout(resolve, interval)); // CPU use is measured over this interval
  const metrics = sample();
  let stored;
  try {
    // Three topics, side by side; each answer comes once the message is durable.
    stored = await Promise.all(Object.entries(metrics).map(([topic, payload]) => publish(topic, payload)));
  } catch (error) {
    fail(error.message);
  }
  for (const { topic, offset } of stored) console.log(`${topic} @${offset} ${describe(topic, metrics[topic])}`);
}
