// A browser-grade EventSource (the `eventsource` package) following a topic, dropped half-way and resumed
// with Last-Event-ID, as a browser would. Prints one JSON line per message as it arrives: {"offset":…,"payload":…}.
// The package's close() aborts the fetch but still dispatches the rest of the chunk it is parsing, which a
// browser would not: events after close() are ignored here, so the resume is what decides what comes next.
import { EventSource } from 'eventsource';

const [base, topic, total] = [process.argv[2], process.argv[3], Number(process.argv[4])];
const seen = [];
let lastEventId = null;

function follow(extra) {
  return new Promise((resolve, reject) => {
    const url = `${base}/v1/topics/${topic}/events${extra}`;
    let closed = false;
    const stop = () => { closed = true; source.close(); resolve(); };
    const source = new EventSource(url, lastEventId ? { fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, 'Last-Event-ID': lastEventId } }) } : undefined);
    source.onmessage = (event) => {
      if (closed) return;
      const message = JSON.parse(event.data);
      const item = { offset: message.offset, payload: message.payload, id: event.lastEventId };
      seen.push(item);
      console.log(JSON.stringify(item));
      lastEventId = event.lastEventId;
      if (seen.length === Math.floor(total / 2) && extra !== '') stop();
      if (seen.length === total) stop();
    };
    source.onerror = (error) => { if (source.readyState === EventSource.CLOSED) reject(error); };
  });
}

await follow('?after=0');   // first half, then the connection is dropped
await follow('');           // resumes from Last-Event-ID
process.exit(0);
