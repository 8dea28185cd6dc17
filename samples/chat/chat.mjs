#!/usr/bin/env node
// Terminal chat over the hub's WebSocket, through the JavaScript client (clients/js).
//
//   node samples/chat/chat.mjs --room lobby --name ann
//
// Every line you type is published to the topic chat.<room>; everything published there by others is printed.
// The hub: SWITCHBOARD_SERVER (or SWITCHBOARD_URL), default http://127.0.0.1:7070; with authentication on,
// SWITCHBOARD_API_KEY (or SWITCHBOARD_TOKEN). The same names as the switchboard command line.
import os from 'node:os';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { connect } from '../../clients/js/client.js';

const USAGE = `usage: node samples/chat/chat.mjs [--room NAME] [--name NAME] [--history N]

  --room NAME    the room to join (default lobby): messages go to the topic chat.NAME
  --name NAME    how others see you (default your user name)
  --history N    show the room's last N messages on joining (default 0)

Type a line and press Enter to send it; /quit or end of input (Ctrl-D) leaves.
The hub: SWITCHBOARD_SERVER (or SWITCHBOARD_URL), default http://127.0.0.1:7070; with authentication on,
SWITCHBOARD_API_KEY (or SWITCHBOARD_TOKEN): the same names as the switchboard command line.`;

function fail(message, code = 1) {
  console.error(`chat: ${message}`);
  process.exit(code);
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      room: { type: 'string', default: 'lobby' },
      name: { type: 'string', default: os.userInfo().username },
      history: { type: 'string', default: '0' },
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
// A room is one token of a topic name: letters, digits, '-' and '_'.
if (!/^[A-Za-z0-9_-]{1,64}$/.test(options.room)) fail(`--room '${options.room}': use 1 to 64 letters, digits, '-' or '_'.\n${USAGE}`, 2);
const name = options.name.trim();
if (name.length === 0 || name.length > 32 || /[\p{Cc}]/u.test(name)) fail(`--name '${options.name}': use 1 to 32 printable characters.\n${USAGE}`, 2);
const history = Number(options.history);
if (!Number.isInteger(history) || history < 0 || history > 1000) fail(`--history '${options.history}': use a whole number from 0 to 1000.\n${USAGE}`, 2);

// The switchboard command line's names first, then the samples' older ones.
const hubVariable = process.env.SWITCHBOARD_SERVER ? 'SWITCHBOARD_SERVER' : process.env.SWITCHBOARD_URL ? 'SWITCHBOARD_URL' : 'SWITCHBOARD_SERVER';
const hub = process.env[hubVariable] || 'http://127.0.0.1:7070';
const token = process.env.SWITCHBOARD_API_KEY || process.env.SWITCHBOARD_TOKEN || undefined;
try {
  if (!/^https?:$/.test(new URL(hub).protocol)) throw new Error('not http(s)');
} catch {
  fail(`${hubVariable} '${hub}' is not an http:// or https:// address (e.g. http://127.0.0.1:7070).`, 2);
}

// Node 22 and browsers have a WebSocket; Node 20 takes the one of the ws package (npm ci in samples/).
let WebSocket = globalThis.WebSocket;
if (!WebSocket) {
  try {
    ({ default: WebSocket } = await import('ws'));
  } catch {
    fail("Node 20 has no WebSocket of its own: run 'npm ci' in samples/ to install the ws package.");
  }
}

const topic = `chat.${options.room}`;
const session = randomUUID(); // tells this program's own messages from those of another "ann"

let client;
try {
  client = await connect(hub, { WebSocket, token, connectTimeout: 5000 });
} catch (error) {
  fail(`cannot reach the hub at ${hub}: ${error.message}\n`
    + 'Start one with: dotnet run --project src/Switchboard.Cli -- serve (or set SWITCHBOARD_SERVER).');
}
client.on('state', ({ state, error }) => {
  if (state === 'reconnecting') console.error(`chat: connection lost (${error?.message ?? 'no reason given'}); reconnecting…`);
  if (state === 'connected') console.error(`chat: connected again over ${client.transport}`);
  if (state === 'closed' && error) fail(`the hub ended the connection: ${error.message}`);
});
client.on('error', (error) => console.error(`chat: ${error.message}`));

const time = (timestamp) => new Date(timestamp).toTimeString().slice(0, 8);
function show(message) {
  const { type, name: who, text, session: from } = message.payload ?? {};
  if (from === session && type === 'say') return; // you typed it; the hub confirmed it (see publish below)
  if (type === 'say') console.log(`[${time(message.timestamp)}] ${who}: ${text}`);
  else if (type === 'join') console.log(`[${time(message.timestamp)}] * ${who} joined #${options.room}`);
  else if (type === 'leave') console.log(`[${time(message.timestamp)}] * ${who} left #${options.room}`);
}

// Where to start: "from now" by default; with --history N, after the message N before the room's last one.
let after;
if (history > 0) {
  const response = await fetch(new URL(`/v1/topics/${topic}`, hub), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (response.ok) {
    const { epoch, stats } = await response.json();
    after = `${epoch}:${Math.max(stats.firstOffset - 1, stats.lastOffset - history, 0)}`;
  } else if (response.status !== 404) {
    fail(`cannot read the room's history: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  }
}

const subscription = client.subscribe(topic, show, {
  after,
  onNotice: (notice) => console.error(`chat: notice ${notice.kind} on ${notice.topic}`),
});
try {
  await subscription.ready;
} catch (error) {
  fail(`the hub refused the subscription to ${topic}: ${error.message}`);
}

// Publishes go out one after another, so the room sees them in the order they were typed.
let sending = Promise.resolve();
function say(type, text) {
  sending = sending.then(() => client.publish(topic, { type, name, text, session }, { key: name }))
    .catch((error) => console.error(`chat: not sent (${error.message})`));
  return sending;
}

await say('join');
console.log(`joined #${options.room} as ${name} over ${client.transport} (${hub}); type a message, /quit to leave`);

let leaving = false;
async function leave(code = 0) {
  if (leaving) return;
  leaving = true;
  const timer = setTimeout(() => fail('the hub did not confirm in time; leaving anyway'), 5000);
  await say('leave');
  await subscription.unsubscribe().catch(() => {});
  await client.close();
  clearTimeout(timer);
  process.exit(code);
}

const input = readline.createInterface({ input: process.stdin, terminal: false });
input.on('line', (line) => {
  const text = line.trim();
  if (text === '/quit') return void leave();
  if (text.length > 0) say('say', text.slice(0, 2000));
});
input.on('close', () => leave());
process.on('SIGINT', () => leave());
process.on('SIGTERM', () => leave());
