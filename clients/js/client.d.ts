// Types of Switchboard's JavaScript client (client.js). Hand-written; kept next to the module it describes.

export type TransportName = 'websocket' | 'sse' | 'longpolling';
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** A duration the hub reads: seconds (decimals allowed) or a string such as "30s", "5m". */
export type HubDuration = number | string;

/** Anything a payload can be: a JSON value, text (with a non-JSON contentType) or bytes. */
export type Payload = unknown;

export interface ConnectOptions {
  /** Transports to try, in order (default websocket, sse, longpolling). */
  transports?: TransportName[];
  /** A bearer token (API key or JWT), or a function returning one: called on every connection and request, so it can refresh. */
  token?: string | (() => string | Promise<string>);
  /** An API key, sent as X-Api-Key (on the WebSocket, in the auth frame). */
  apiKey?: string;
  /** The WebSocket constructor where there is no global one (Node 20: the ws package's). */
  WebSocket?: unknown;
  /** An EventSource constructor; without one (Node), event streams are read with fetch. */
  EventSource?: unknown;
  /** The fetch function (default: the global one). */
  fetch?: typeof fetch;
  /** Headers added to every HTTP request. */
  headers?: Record<string, string>;
  /** First reconnect delay in ms, doubled per attempt with jitter (default 250). */
  reconnectDelay?: number;
  /** Longest reconnect delay in ms (default 10000). */
  maxReconnectDelay?: number;
  /** Reconnect attempts before the client closes with an error (default Infinity). */
  maxReconnectAttempts?: number;
  /** How long a transport may take to open, in ms (default 10000). */
  connectTimeout?: number;
  /** How long the SSE probe waits for its first event before falling back, in ms (default connectTimeout). */
  probeTimeout?: number;
  /** How long a publish (or send) may wait for its confirmation across reconnects, in ms (default 60000). */
  publishTimeout?: number;
  /** WebSocket: ping after this many idle ms (default 15000; 0 turns it off). */
  heartbeatInterval?: number;
  /** WebSocket: the connection counts as lost when nothing arrives this many ms after a ping (default 10000). */
  heartbeatTimeout?: number;
  /** Long polling: seconds each request waits on the hub (default 30, at most 60). */
  longPollWait?: number;
  /**
   * WebSocket: 'compact' asks the hub for its compact envelope (topic, offset and payload; the epoch once per topic),
   * about half the bytes per small message; messages then have no timestamp. Default 'full'.
   */
  envelope?: 'full' | 'compact';
}

export interface Message {
  topic: string;
  epoch: string;
  offset: number;
  /** "epoch:offset": a valid `after`. */
  position: string;
  /** When the hub stored it (ISO 8601); undefined when the WebSocket uses the compact envelope. */
  timestamp?: string;
  headers: Record<string, string>;
  key?: string;
  contentType: string;
  /** A JSON value, a string (text types) or a Uint8Array (binary). */
  payload: Payload;
}

export interface Published {
  topic: string;
  epoch: string;
  offset: number;
  timestamp: string;
}

export interface PublishOptions {
  key?: string;
  headers?: Record<string, string>;
  contentType?: string;
  /** Makes retries safe: the hub stores one message per key (for 2 minutes). Generated when not given. */
  idempotencyKey?: string;
  /** How long to wait for the confirmation across reconnects, in ms (default: the client's publishTimeout). */
  timeout?: number;
}

export interface Notice {
  /**
   * `resume-expired` (SSE, long polling): `after` was a p2. token whose stored snapshot retention removed; the
   * `resumedTopics` continue exactly, every other topic from now (`message` says how to read what was skipped).
   */
  kind: 'missed' | 'epoch-changed' | 'topic-deleted' | 'resume-expired';
  /** The topic it concerns (absent for `resume-expired`, which concerns the whole subscription). */
  topic?: string;
  epoch?: string;
  previousEpoch?: string | null;
  fromOffset?: number;
  toOffset?: number;
  /** With `resume-expired`: the snapshot that is gone. */
  snapshot?: string;
  /** With `resume-expired`: the topics the token itself named, which continue exactly. */
  resumedTopics?: string[];
  /** The hub's sentence for people, when it gave one. */
  message?: string;
  subscription: Subscription;
}

export interface SubscribeOptions {
  /**
   * Start after this position: "epoch:offset", an offset (0 = everything retained), a subscription's `position`, or
   * any multi-topic token the hub issued (an SSE id, a poll's `next`: `p1.…`, `p2.…`), passed to the hub as it is; a
   * token the hub refuses ends the subscription with the hub's code (e.g. `invalid-position`). Default: now.
   */
  after?: string | number;
  /** Gaps retention made, new incarnations, deletions. */
  onNotice?: (notice: Notice) => void;
  /** The hub refused the subscription (it has ended). Without it, the client's 'error' event hears it. */
  onError?: (error: SwitchboardError) => void;
}

export interface Subscription {
  readonly id: string;
  readonly pattern: string;
  readonly wildcard: boolean;
  /** Resolves once the hub confirmed the subscription; rejects if it refused it. */
  readonly ready: Promise<Subscription>;
  /**
   * Where the subscription stands: pass it as `after` to continue later (undefined before anything was seen and while
   * the topic did not exist). For a topic "epoch:offset"; for a pattern the hub's multi-topic token (its own `p1.…` or
   * `p2.…` over SSE and long polling, small however many topics it covers).
   */
  readonly position: string | undefined;
  unsubscribe(): Promise<void>;
}

export interface SendOptions {
  /** Seconds (or "30s") the message stays invisible. */
  delay?: HubDuration;
  key?: string;
  headers?: Record<string, string>;
  contentType?: string;
  idempotencyKey?: string;
}

export interface ReceiveOptions {
  /** Most messages to lease (default 1). */
  max?: number;
  /** Seconds to wait for the first message (default 0, at most 60). */
  wait?: HubDuration;
  /** Lease length in seconds (default: the queue's). */
  lease?: HubDuration;
  signal?: AbortSignal;
}

export interface QueueMessage {
  queue: string;
  id: number;
  lease: string;
  leaseExpiresAt: string;
  attempts: number;
  enqueuedAt: string;
  headers: Record<string, string>;
  contentType: string;
  payload: Payload;
  replyTo?: string;
  correlationId?: string;
  ack(): Promise<void>;
  nack(options?: { delay?: HubDuration; error?: string }): Promise<{ deadLettered: boolean; visibleAt?: string }>;
  extend(by: HubDuration): Promise<{ leaseExpiresAt: string }>;
}

export interface RequestOptions {
  /** Seconds to wait for the reply (default 30). */
  timeout?: number;
  headers?: Record<string, string>;
  contentType?: string;
  idempotencyKey?: string;
}

export interface Reply {
  id: string;
  queue: string;
  repliedAt: string;
  headers: Record<string, string>;
  contentType: string;
  payload: Payload;
}

export interface RespondOptions {
  /** Requests handled at once (default 1). */
  concurrency?: number;
  lease?: HubDuration;
  /** Seconds each receive waits (default 30). */
  wait?: HubDuration;
}

export interface Responder {
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

export interface StateEvent {
  state: ConnectionState;
  transport: TransportName | null;
  error?: SwitchboardError;
  attempt?: number;
}

export declare class SwitchboardError extends Error {
  /** The hub's error code (GET /v1/errors) or the client's: connection-lost, unavailable, closed, timeout, unsupported. */
  readonly code: string;
  readonly detail: string;
  readonly status?: number;
  readonly closeCode?: number;
  readonly reason?: string;
  readonly retryAfter?: number;
  /** The problem+json or error frame, as the hub sent it. */
  readonly problem?: Record<string, unknown>;
  /** Why each transport failed (code unavailable from connect). */
  readonly errors?: string[];
  readonly retryable: boolean;
}

export declare class SwitchboardClient {
  /** The transport in use, null while disconnected. */
  readonly transport: TransportName | null;
  readonly state: ConnectionState;
  readonly url: URL;

  publish(topic: string, payload: Payload, options?: PublishOptions): Promise<Published>;
  subscribe(pattern: string, handler: (message: Message) => void | Promise<void>, options?: SubscribeOptions): Subscription;

  send(queue: string, payload: Payload, options?: SendOptions): Promise<{ queue: string; id: number }>;
  receive(queue: string, options?: ReceiveOptions): Promise<QueueMessage[]>;
  /** Acks received messages of one queue in one request per thousand; resolves with the ones not acked, each with why. */
  ack(messages: QueueMessage[]): Promise<{ message: QueueMessage; error: SwitchboardError }[]>;
  request(queue: string, payload: Payload, options?: RequestOptions): Promise<Reply>;
  respond(queue: string, handler: (message: QueueMessage) => Payload | Promise<Payload>, options?: RespondOptions): Responder;

  on(event: 'state', listener: (event: StateEvent) => void): this;
  on(event: 'notice', listener: (notice: Notice) => void): this;
  on(event: 'error', listener: (error: SwitchboardError | Error) => void): this;
  on(event: 'fallback', listener: (event: { transport: TransportName; error: SwitchboardError }) => void): this;
  off(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;

  close(): Promise<void>;
}

/** Connects to a hub (http(s):// or ws(s):// address); resolves once a transport is open, rejects if none opens. */
export declare function connect(url: string | URL, options?: ConnectOptions): Promise<SwitchboardClient>;
