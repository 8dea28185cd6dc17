#!/usr/bin/env node
// Follows the metrics over Server-Sent Events, the way the dashboard page does: one EventSource on
// /v1/events?topic=metrics.*, which reconnects by itself and resumes with Last-Event-ID.
//
//   node samples/dashboard/watch.mjs [--topic 'metrics.*'] [--count N]
//
// The hub: SWITCHBOARD_SERVER (or SWITCHBOARD_URL), default http://127.0.0.1:7070; with authentication on,
// SWITCHBOARD_API_KEY (or SWITCHBOARD_TOKEN). The same names as the switchboard command line.
import { parseArgs } from 'node:util';
import { describe } from './metrics.mjs';

const USAGE = `usage: node samples/dashboard/watch.mjs [--topic PATTERN] [--count N]

  --topic PATTERN   the topics to follow (default metrics.*; * is one name token, > the rest)
  --count N         stop after N metrics (default: run until Ctrl-C)

The hub: SWITCHBOARD_SERVER (or SWITCHBOARD_URL), default http://127.0.0.1:7070; with authentication on,
SWITCHBOARD_API_KEY (or SWITCHBOARD_TOKEN): the same names as the switchboard command line.`;

function fail(message, code = 1) {
  console.error(`watch: ${message}`);
  process.exit(code);
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      topic: { type: 'string', default: 'metrics.*' },
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
const count = options.count === undefined ? Infinity : Number(options.count);
if (count !== Infinity && (!Number.isInteger(count) || count < 1)) fail(`--count '${options.count}': use a whole number, at least 1.\n${USAGE}`, 2);
// The switchboard command line's names first, then the samples' older ones.
const hubVariable = process.env.SWITCHBOARD_SERVER ? 'SWITCHBOARD_SERVER' : process.env.SWITCHBOARD_URL ? 'SWITCHBOARD_URL' : 'SWITCHBOARD_SERVER';
const hub = process.env[hubVariable] || 'http://127.0.0.1:7070';
const token = process.env.SWITCHBOARD_API_KEY || process.env.SWITCHBOARD_TOKEN || undefined;
let url;
try {
  url = new URL('/v1/events', hub);
  if (!/^https?:$/.test(url.protocol)) throw new Error();
} catch {
  fail(`${hubVariable} '${hub}' is not an http:// or https:// address (e.g. http://127.0.0.1:7070).`, 2);
}
url.searchParams.set('topic', options.topic);
// EventSource cannot send headers; the hub takes the credential from the query (docs/security.md).
if (token) url.searchParams.set('access_token', token);

// Browsers have EventSource; Node takes the eventsource package's (npm ci in samples/), the same API.
let EventSource = globalThis.EventSource;
if (!EventSource) {
  try {
    ({ EventSource } = await import('eventsource'));
  } catch {
    fail("Node has no EventSource of its own: run 'npm ci' in samples/ to install the eventsource package.");
  }
}

const source = new EventSource(url);
let opened = false;
let received = 0;
source.addEventListener('open', () => {
  if (!opened) console.log(`watching ${options.topic} on ${hub} over Server-Sent Events`);
  else console.error('watch: reconnected; resuming where the stream left off');
  opened = true;
});
source.addEventListener('message', (event) => {
  const message = JSON.parse(event.data); // { topic, epoch, offset, timestamp, key, payload }
  console.log(`${message.topic} @${message.offset} ${describe(message.topic, message.payload)}`);
  if (++received >= count) {
    source.close();
    process.exit(0);
  }
});
source.addEventListener('notice', (event) => console.error(`watch: notice ${event.data}`));
source.addEventListener('error', (event) => {
  // Before the first open: the hub is not there (or refused). Later: the stream dropped and EventSource reconnects,
  // unless the hub answered with an error status, which closes it for good.
  if (!opened) {
    source.close();
    if (typeof event.code === 'number') {
      // The hub answered, with an error: its problem+json says why (the same request without the event stream).
      fetch(url, { signal: AbortSignal.timeout(5000) }).then((response) => response.json()).catch(() => ({}))
        .then((problem) => fail(`the hub refused ${url.pathname}${url.search}: HTTP ${event.code} ${problem.detail ?? ''}`));
      return;
    }
    fail(`cannot follow ${url.pathname}${url.search} on ${hub}: ${event.message ?? 'no answer'}. `
      + 'Start the hub with: dotnet run --project src/Switchboard.Cli -- serve (or set SWITCHBOARD_SERVER).');
  }
  if (source.readyState === EventSource.CLOSED) fail(`the hub ended the stream: ${event.message ?? event.code ?? 'no reason given'}`);
  console.error(`watch: stream interrupted (${event.message ?? 'no reason given'}); EventSource reconnects by itself`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { source.close(); process.exit(0); });
