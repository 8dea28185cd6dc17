// A gRPC client generated at run time from the hub's .proto files by @grpc/proto-loader, over @grpc/grpc-js:
// proof that the contract is usable from another language. Publishes over unary Publish and PublishStream,
// follows with Subscribe, and prints one JSON line per event.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [address, topic] = [process.argv[2], process.argv[3]];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../protos');
const definition = protoLoader.loadSync('switchboard/v1/switchboard.proto', { includeDirs: [root], longs: Number, defaults: true, keepCase: false });
const { switchboard } = grpc.loadPackageDefinition(definition);
const client = new switchboard.v1.Switchboard(address, grpc.credentials.createInsecure());
const encode = (value) => Buffer.from(JSON.stringify(value));

let pending = 4 + 3; // four messages, the reply, the summary, the refusal
const out = (kind, value) => {
  console.log(JSON.stringify({ kind, ...value }));
  if (kind === 'error') process.exit(1);
  if (--pending === 0) { client.close(); process.exit(0); }
};

const stream = client.subscribe({ topics: [topic], afterOffset: 0 });
let seen = 0;
stream.on('data', (message) => {
  out('message', { offset: message.offset, payload: JSON.parse(message.payload.toString()) });
  if (++seen === 4) stream.cancel();
});
stream.on('error', (error) => { if (error.code !== grpc.status.CANCELLED) out('error', { code: error.code, details: error.details }); });

client.publish({ topic, payload: encode({ n: 1 }), headers: { from: 'node' } }, (error, reply) => {
  if (error) { out('error', { code: error.code, details: error.details }); return; }
  out('published', { offset: reply.offset, epoch: reply.epoch });
  const upload = client.publishStream((err, summary) => {
    if (err) { out('error', { code: err.code, details: err.details }); return; }
    out('summary', { count: summary.count, last: summary.last[topic].offset });
  });
  for (const n of [2, 3, 4]) upload.write({ topic, payload: encode({ n }) });
  upload.end();
});

client.publish({ topic: 'bad..name', payload: encode(0) }, (error) => {
  out('refused', { code: error.code, details: error.details, metadata: error.metadata.get('switchboard-error')[0] });
});
setTimeout(() => { out('timeout', {}); process.exit(1); }, 10000);
