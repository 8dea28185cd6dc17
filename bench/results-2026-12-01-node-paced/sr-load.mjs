// SignalR twin of load.mjs: 100 WebSocket subscribers (JSON hub protocol) and a publisher at RATE msg/s (default 1,000), paced every 10 ms.
import WebSocket from '../../tests/js/node_modules/ws/index.js';
const [port, seconds] = [process.argv[2], Number(process.argv[3] ?? 60)];
const topic = 'paced' + Date.now();
const RS = '\x1e';
let received = 0;
async function connect() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/hub`);
  await new Promise((ok, fail) => { ws.once('open', ok); ws.once('error', fail); });
  ws.send(JSON.stringify({ protocol: 'json', version: 1 }) + RS);
  return ws;
}
for (let i = 0; i < 100; i++) {
  const ws = await connect();
  ws.on('message', data => { for (const part of data.toString().split(RS)) if (part.includes('"message"')) received++; });
  ws.send(JSON.stringify({ type: 1, invocationId: '1', target: 'Subscribe', arguments: [topic] }) + RS);
}
const pub = await connect();
await new Promise(r => setTimeout(r, 500));
const start = Date.now();
let sent = 0;
while (Date.now() - start < seconds * 1000) {
  const due = Math.floor((Date.now() - start) * Number(process.env.RATE ?? 1000) / 1000);
  for (; sent < due; sent++) pub.send(JSON.stringify({ type: 1, target: 'Publish', arguments: [topic, JSON.stringify({ n: sent, pad: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' })] }) + RS);
  await new Promise(r => setTimeout(r, 10));
}
console.log(`sent ${sent}, received ${received}`);
process.exit(0);
