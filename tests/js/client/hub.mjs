// The real `switchboard serve` in a child process for the JS client's tests: started on 127.0.0.1 (a free port, or
// a given one to come back on after a kill), stopped by PID (SIGKILL for a crash). The program is the one the build
// produced (SWITCHBOARD_CLI, else src/Switchboard.Cli/bin/Release/net10.0/switchboard.dll): a missing build fails loudly.

import { spawn } from 'node:child_process';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const cliPath = process.env.SWITCHBOARD_CLI || join(root, 'src/Switchboard.Cli/bin/Release/net10.0/switchboard.dll');

export class Hub {
  #child;
  #output = '';

  constructor({ env = {}, memory = false } = {}) {
    this.env = env;
    this.memory = memory;
    this.dataDir = memory ? undefined : mkdtempSync(join(tmpdir(), 'sb-js-'));
    this.port = 0;
  }

  /** Starts the hub (on the port it had before, after a kill) and waits until /readyz answers 200. */
  static async start(options) {
    const hub = new Hub(options);
    await hub.start();
    return hub;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get output() {
    return this.#output;
  }

  async start() {
    if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: build first (dotnet build Switchboard.slnx -c Release).`);
    const args = [cliPath, 'serve', '--urls', `http://127.0.0.1:${this.port}`, ...(this.memory ? ['--memory'] : ['--data', this.dataDir])];
    const child = spawn('dotnet', args, { env: { ...process.env, DOTNET_NOLOGO: '1', ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const listening = new Promise((resolvePort, reject) => {
      const onData = (chunk) => {
        this.#output += chunk;
        const match = /Listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(this.#output);
        if (match) resolvePort(Number(match[1]));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`switchboard exited (${code}) before listening:\n${this.#output}`)));
      setTimeout(() => reject(new Error(`switchboard did not listen within 60 s:\n${this.#output}`)), 60_000).unref();
    });
    this.port = await listening;
    // Readiness is a state to poll: 20 ms between polls, at most 30 s.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${this.url}/readyz`)).ok) return;
      } catch {
        // not answering yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`switchboard did not become ready:\n${this.#output}`);
  }

  /** SIGKILL: the process dies at once, as in a crash. */
  async kill() {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop() {
    await this.kill();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A REST call straight to the hub (what the tests check against). */
  async rest(method, path, body, headers = {}) {
    const response = await fetch(this.url + path, {
      method,
      headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  /** Every message of a topic, read page by page (at most 100 pages). */
  async history(topic, headers) {
    const messages = [];
    let after = '0';
    for (let page = 0; page < 100; page++) {
      const { status, body } = await this.rest('GET', `/v1/topics/${topic}/messages?after=${after}&limit=1000`, undefined, headers);
      if (status !== 200) throw new Error(`history of ${topic}: ${status} ${JSON.stringify(body)}`);
      messages.push(...body.messages);
      if (body.messages.length === 0) return messages;
      after = body.next;
    }
    throw new Error(`history of ${topic} has more than 100 pages`);
  }
}

/**
 * Waits on conditions that event handlers make true: handlers call `tick()`, and each `until(predicate)` resolves at
 * the first tick (or at once) where its predicate holds, or rejects after `ms`. No polling, no sleeps.
 */
export class Watch {
  #waiters = new Set();

  until(predicate, ms, what) {
    let waiter;
    const promise = new Promise((resolveWait, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      }, ms);
      waiter = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolveWait();
      };
    });
    promise.catch(() => {}); // a test that fails first must not leave an unhandled rejection behind
    this.#waiters.add(waiter);
    waiter();
    return promise;
  }

  tick() {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** The next `event` from an emitter (the client) that satisfies `predicate`; rejects after `ms`. */
export function nextEvent(emitter, event, predicate, ms) {
  return new Promise((resolveEvent, reject) => {
    const listener = (value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolveEvent(value);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for a '${event}' event`));
    }, ms);
    emitter.on(event, listener);
  });
}

/**
 * A TCP relay in front of the hub: `cut()` drops the connections it carries; with `hold` set, a new connection is
 * accepted but carries nothing until `release(socket)`; `next()` resolves with the next connection held.
 */
export async function startRelay(upstream) {
  const sockets = new Set();
  const waiting = [];
  const pipe = (socket) => {
    const up = net.connect(Number(upstream.port), upstream.hostname);
    socket.pipe(up).pipe(socket);
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (relay.hold) {
      socket.pause();
      waiting.shift()?.(socket);
    } else {
      pipe(socket);
    }
  });
  await new Promise((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const relay = {
    url: `http://127.0.0.1:${server.address().port}`,
    hold: false,
    next: () => new Promise((resolveNext) => waiting.push(resolveNext)),
    cut: () => { for (const socket of sockets) socket.destroy(); },
    release: (socket) => { pipe(socket); socket.resume(); },
    close: () => { relay.cut(); server.close(); },
  };
  return relay;
}
