// Switchboard's JavaScript client: one API over WebSocket, Server-Sent Events or long polling, with fallback between
// them, reconnects that resume every subscription without a gap or a duplicate, queues and request/reply.
// An ES module with no dependencies, for browsers and Node 20+. The hub serves it at /client.js.
//
//   import { connect } from '/client.js';
//   const client = await connect('https://hub.example.com', { token });
//   client.subscribe('orders.*', (message) => console.log(message.topic, message.payload));
//   await client.publish('orders.created', { id: 42 });

export { connect, SwitchboardClient } from './client/core.js';
export { SwitchboardError } from './client/errors.js';
