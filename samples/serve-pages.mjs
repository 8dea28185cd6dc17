#!/usr/bin/env node
// Serves the samples' browser pages (samples/*/index.html) on loopback, so a browser can open them:
//
//   node samples/serve-pages.mjs            # http://127.0.0.1:8080/chat/ and http://127.0.0.1:8080/dashboard/
//
// The pages talk to the hub from this origin, so the hub has to allow it (a browser refuses the answers otherwise):
//
//   Switchboard__AllowedOrigins=http://127.0.0.1:8080 dotnet run --project src/Switchboard.Cli -- serve
//
// Any static file server does the same job; this one has no dependencies. It serves .html files only.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const USAGE = 'usage: node samples/serve-pages.mjs [--port 8080]   (0 picks a free port)';
let port;
try {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port '${values.port}' is not a port number`);
} catch (error) {
  console.error(`serve-pages: ${error.message}\n${USAGE}`);
  process.exit(2);
}

const root = path.dirname(fileURLToPath(import.meta.url));
const pages = ['chat', 'dashboard'];

const server = http.createServer(async (request, response) => {
  const { pathname } = new URL(request.url, 'http://localhost');
  const page = pages.find((name) => pathname === `/${name}/` || pathname === `/${name}/index.html`);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD' }).end();
  } else if (pathname === '/') {
    const links = pages.map((name) => `<li><a href="/${name}/">${name}</a></li>`).join('');
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Switchboard samples</title><ul>${links}</ul>`);
  } else if (page) {
    const html = await readFile(path.join(root, page, 'index.html'));
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }).end(request.method === 'HEAD' ? undefined : html);
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the pages are /chat/ and /dashboard/.\n');
  }
});
server.on('error', (error) => {
  console.error(`serve-pages: cannot listen on 127.0.0.1:${port}: ${error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  console.log(`serving the sample pages on ${origin}: ${pages.map((name) => `${origin}/${name}/`).join(' ')}`);
  console.log(`start the hub so that it allows this origin: Switchboard__AllowedOrigins=${origin} dotnet run --project src/Switchboard.Cli -- serve`);
  console.log('a page talks to http://127.0.0.1:7070 unless given ?hub=URL');
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
