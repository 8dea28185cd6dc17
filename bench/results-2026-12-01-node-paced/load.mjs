// 100 WebSocket subscribers (compact, ?batch=true) and a publisher at RATE msg/s (default 1,000), paced every 10 ms, for DURATION s.
import WebSocket from '../../tests/js/node_modules/ws/index.js';
const [port, seconds] = [process.argv[2], Number(process.argv[3] ?? 60)];
const topic = 'paced' + Date.now();
let received = 0;
const sockets = [];
for (let i = 0; i < 100; i++) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws?batch=true`, 'switchboard.v1.json');
  await new Promise((ok, fail) => { ws.once('open', ok); ws.once('error', fail); });
  ws.on('message', data => { received += data.toString().split('\n').length; });
  ws.send(JSON.stringify({ id: '1', subscribe: { topics: [topic], envelope: 'compact' } }));
  sockets.push(ws);
}
const pub = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, 'switchboard.v1.json');
await new Promise(ok => pub.once('open', ok));
await new Promise(r => setTimeout(r, 500));
const start = Date.now();
let sent = 0;
while (Date.now() - start < seconds * 1000) {
  const due = Math.floor((Date.now() - start) * Number(process.env.RATE ?? 1000) / 1000);
  for (; sent < due; sent++) pub.send(JSON.stringify({ publish: { topic, payload: { n: sent, pad: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' } } }));
  await new Promise(r => setTimeout(r, 10));
}
console.log(`sent ${sent}, received lines ${received}`);
process.exit(0);
