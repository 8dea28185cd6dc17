// A browser-grade EventSource (the `eventsource` package) following a topic, dropped half-way and resumed
// with Last-Event-ID, as a browser would. Prints one JSON line per message: {"offset":…,"payload":…}.
import { EventSource } from 'eventsource';

const [base, topic, total] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const seen = [];
let lastEventId = null;

function follow(extra) {
  return new Promise((resolve, reject) => {
    const url = `${base}/v1/topics/${topic}/events${extra}`;
    const source = new EventSource(url, lastEventId ? { fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, 'Last-Event-ID': lastEventId } }) } : undefined);
    source.onmessage = (event) => {
      const message = JSON.parse(event.data);
      seen.push({ offset: message.offset, payload: message.payload, id: event.lastEventId });
      lastEventId = event.lastEventId;
      if (seen.length === Math.floor(total / 2) && extra !== '') { source.close(); resolve(); }
      if (seen.length === total) { source.close(); resolve(); }
    };
    source.onerror = (error) => { if (source.readyState === EventSource.CLOSED) reject(error); };
  });
}

await follow('?after=0');   // first half, then the connection is dropped
await follow('');           // resumes from Last-Event-ID
for (const item of seen) console.log(JSON.stringify(item));
process.exit(0);
