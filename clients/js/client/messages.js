// Messages on the wire and in the application: the envelope a publish sends, the shape a subscriber gets.

import { base64ToBytes, bytesToBase64 } from './util.js';

const JSON_TYPE = 'application/json';

/**
 * The publish envelope (the same fields on REST bodies and WebSocket frames): a JSON value as it is; bytes
 * (Uint8Array, ArrayBuffer) as base64 with `application/octet-stream` unless a contentType says otherwise; a string
 * with a non-JSON contentType as text.
 */
export function envelope(payload, options = {}) {
  const out = {};
  const contentType = options.contentType;
  if (payload instanceof ArrayBuffer) payload = new Uint8Array(payload);
  if (ArrayBuffer.isView(payload)) {
    out.payload = bytesToBase64(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    out.encoding = 'base64';
    out.contentType = contentType ?? 'application/octet-stream';
  } else {
    if (payload === undefined) throw new TypeError('publish needs a payload (null is a valid JSON payload).');
    out.payload = payload;
    if (contentType && !isJson(contentType)) {
      if (typeof payload !== 'string') throw new TypeError(`contentType ${contentType} needs a string or bytes payload.`);
      out.contentType = contentType;
    }
  }
  if (options.headers && Object.keys(options.headers).length > 0) out.headers = options.headers;
  if (options.key !== undefined) out.key = options.key;
  return out;
}

function isJson(contentType) {
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === JSON_TYPE || type.endsWith('+json');
}

/**
 * A message as the application sees it: the hub's JSON shape with `headers` and `contentType` filled in (streams
 * leave defaults out), `position` ("epoch:offset", what `after` takes), and binary payloads as Uint8Array.
 */
export function fromWire(wire) {
  const message = {
    topic: wire.topic,
    epoch: wire.epoch,
    offset: wire.offset,
    position: `${wire.epoch}:${wire.offset}`,
    timestamp: wire.timestamp, // undefined with the compact envelope
    headers: wire.headers ?? {},
    contentType: wire.contentType ?? JSON_TYPE,
    payload: wire.encoding === 'base64' ? base64ToBytes(wire.payload) : wire.payload,
  };
  if (wire.key !== undefined) message.key = wire.key;
  return message;
}

/**
 * A compact-envelope message ({t, o, p, k?, h?, c?, enc?}) in the hub's full shape, with the epoch the connection was
 * last told for its topic (an "epoch" notice); it has no timestamp.
 */
export function fromCompact(m, epoch) {
  const wire = { topic: m.t, epoch, offset: m.o, payload: m.p };
  if (m.k !== undefined) wire.key = m.k;
  if (m.h !== undefined) wire.headers = m.h;
  if (m.c !== undefined) wire.contentType = m.c;
  if (m.enc !== undefined) wire.encoding = m.enc;
  return wire;
}

/** A queue message as received: payload decoded like a topic message, plus what settling it needs. */
export function fromQueueWire(queue, wire) {
  const message = {
    queue,
    id: wire.id,
    lease: wire.lease,
    leaseExpiresAt: wire.leaseExpiresAt,
    attempts: wire.attempts,
    enqueuedAt: wire.enqueuedAt,
    headers: wire.headers ?? {},
    contentType: wire.contentType ?? JSON_TYPE,
    payload: wire.encoding === 'base64' ? base64ToBytes(wire.payload) : wire.payload,
  };
  if (wire.replyTo !== undefined) message.replyTo = wire.replyTo;
  if (wire.correlationId !== undefined) message.correlationId = wire.correlationId;
  return message;
}

/** Durations as the hub reads them: a number is seconds. */
export function seconds(value) {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' ? `${value}s` : String(value);
}
