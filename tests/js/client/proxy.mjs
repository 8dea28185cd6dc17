// A real HTTP proxy in front of the hub, of the kind that makes clients fall back: it forwards plain requests (and,
// unless told otherwise, event streams) but refuses WebSocket upgrades with 403, as corporate proxies and some load
// balancers do. With events: 'buffer' it also holds event streams back until they end, like a buffering proxy.

import http from 'node:http';

export async function startProxy(target, { events = 'pass' } = {}) {
  const upstream = new URL(target);
  const counts = { upgrades: 0, events: 0, requests: 0 };
  const server = http.createServer((request, response) => {
    counts.requests++;
    const isEvents = (request.headers.accept ?? '').includes('text/event-stream');
    if (isEvents) counts.events++;
    const forward = http.request({
      host: upstream.hostname, port: upstream.port, method: request.method, path: request.url,
      headers: { ...request.headers, host: upstream.host },
    }, (answer) => {
      if (isEvents && events === 'buffer') {
        // Hold everything until the hub ends the stream: no event reaches the client in time.
        const chunks = [];
        answer.on('data', (chunk) => chunks.push(chunk));
        answer.on('end', () => {
          response.writeHead(answer.statusCode, answer.headers);
          response.end(Buffer.concat(chunks));
        });
        return;
      }
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    });
    forward.on('error', () => response.destroy());
    response.on('close', () => forward.destroy());
    request.pipe(forward);
  });
  server.on('upgrade', (request, socket) => {
    counts.upgrades++;
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 31\r\nConnection: close\r\n\r\nWebSockets are not allowed here');
  });
  await new Promise((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    counts,
    close: () => new Promise((resolveClose) => {
      server.closeAllConnections();
      server.close(resolveClose);
    }),
  };
}
