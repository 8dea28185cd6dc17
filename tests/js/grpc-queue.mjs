// A queue consumer over @grpc/grpc-js, its client generated at run time from the hub's .proto files: sends three
// messages, receives them on a Receive stream (a window of three) and acks them with one AckBatch call in which the
// third carries the first one's lease (so it alone fails), then sends an empty batch (refused whole).
// Prints one JSON line per step; exits 1 on an unexpected error or after 10 s.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [address, queue] = [process.argv[2], process.argv[3]];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../protos');
const definition = protoLoader.loadSync('switchboard/v1/switchboard.proto', { includeDirs: [root], longs: Number, defaults: true, keepCase: false });
const { switchboard } = grpc.loadPackageDefinition(definition);
const client = new switchboard.v1.Switchboard(address, grpc.credentials.createInsecure());
const out = (kind, value) => console.log(JSON.stringify({ kind, ...value }));
const fail = (error) => { out('error', { code: error.code, details: error.details }); process.exit(1); };
const call = (method, request) => new Promise((resolve, reject) => client[method](request, (error, reply) => (error ? reject(error) : resolve(reply))));
setTimeout(() => { out('timeout', {}); process.exit(1); }, 10000);

try {
  for (const n of [1, 2, 3]) {
    const sent = await call('send', { queue, payload: Buffer.from(JSON.stringify({ n })) });
    out('sent', { id: sent.id });
  }
  const stream = client.receive({ queue, max: 3, leaseSeconds: 60 });
  const taken = [];
  await new Promise((resolve, reject) => {
    stream.on('data', (message) => { taken.push(message); if (taken.length === 3) resolve(); });
    stream.on('error', (error) => { if (error.code !== grpc.status.CANCELLED) reject(error); });
  });
  const reply = await call('ackBatch', {
    queue,
    messages: [
      { id: taken[0].id, lease: taken[0].lease },
      { id: taken[1].id, lease: taken[1].lease },
      { id: taken[2].id, lease: taken[0].lease },
    ],
  });
  out('acked', { queue: reply.queue, acked: reply.acked, failed: reply.failed.map((f) => ({ id: f.id, code: f.error.code, status: f.error.status })) });
  try {
    await call('ackBatch', { queue, messages: [] });
    out('accepted-empty', {});
  } catch (error) {
    out('refused', { code: error.code, metadata: error.metadata.get('switchboard-error')[0] });
  }
  stream.cancel();
  client.close();
  process.exit(0);
} catch (error) {
  fail(error);
}
