// One error type for everything the client reports: the hub's problem+json, error frames and close codes.

/**
 * An error from the hub or the connection. `code` is the hub's error code (`forbidden`, `topic-not-found`, …, the
 * codes of GET /v1/errors) or one of the client's own (`connection-lost`, `unavailable`, `closed`, `timeout`);
 * `status` the HTTP status when there is one; `closeCode` and `reason` when a WebSocket close said why.
 */
export class SwitchboardError extends Error {
  constructor(code, message, extra = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'SwitchboardError';
    this.code = code;
    this.detail = extra.detail ?? message;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.closeCode !== undefined) this.closeCode = extra.closeCode;
    if (extra.reason !== undefined) this.reason = extra.reason;
    if (extra.retryAfter !== undefined) this.retryAfter = extra.retryAfter;
    if (extra.problem !== undefined) this.problem = extra.problem;
    if (extra.errors !== undefined) this.errors = extra.errors;
  }

  /** True when the operation may succeed on another try (the connection, not the request, failed). */
  get retryable() {
    return RETRYABLE.has(this.code) || this.status === 503;
  }
}

const RETRYABLE = new Set(['connection-lost', 'unavailable', 'not-ready', 'shutting-down', 'overloaded', 'too-many-connections', 'storage-unavailable', 'slow-consumer', 'rate-limited']);

/** WebSocket close codes that end the client for good: retrying cannot help (the credential, the protocol). */
const FATAL_CLOSES = new Map([
  [4401, 'unauthorized'],
  [4403, 'forbidden'],
  [1002, 'protocol-error'],
  [1003, 'protocol-error'],
  [1007, 'protocol-error'],
]);

const CLOSE_CODES = new Map([
  [1001, 'shutting-down'],
  [1006, 'connection-lost'],
  [1009, 'message-too-large'],
  [1011, 'internal'],
  [1013, 'overloaded'],
  [4400, 'invalid-request'],
  [4408, 'slow-consumer'],
  [4429, 'rate-limited'],
  ...FATAL_CLOSES,
]);

/** The error a WebSocket close stands for; `fatal` when reconnecting cannot help. */
export function fromClose(code, reason) {
  const name = CLOSE_CODES.get(code) ?? 'connection-lost';
  const error = new SwitchboardError(name, `The WebSocket closed with ${code}${reason ? `: ${reason}` : ''}`, { closeCode: code, reason: reason ?? '', detail: reason || undefined });
  error.fatal = FATAL_CLOSES.has(code);
  return error;
}

/** An error frame of the multiplexed protocol: `{"code","message","status","retryAfter"?}`. */
export function fromFrame(error) {
  return new SwitchboardError(error.code ?? 'internal', error.message ?? error.code ?? 'The hub refused the frame.', {
    status: error.status, retryAfter: error.retryAfter, detail: error.message, problem: error,
  });
}

/** The error of a non-2xx HTTP answer: the problem+json's code and detail when the hub sent one. */
export async function fromResponse(response) {
  let problem;
  try {
    const text = await response.text();
    problem = text ? JSON.parse(text) : undefined;
  } catch {
    problem = undefined;
  }
  const retryAfter = Number(response.headers.get('Retry-After')) || undefined;
  if (problem && typeof problem === 'object' && problem.code) {
    return new SwitchboardError(problem.code, problem.detail ?? problem.title ?? problem.code, {
      status: response.status, detail: problem.detail, retryAfter, problem,
    });
  }
  // Not the hub's answer (a proxy, a load balancer): name the status.
  return new SwitchboardError(response.status === 503 ? 'unavailable' : `http-${response.status}`, `HTTP ${response.status} ${response.statusText}`.trim(), {
    status: response.status, retryAfter,
  });
}

/** The connection (not the request) failed: the operation may be retried once the client reconnects. */
export function connectionLost(cause, message = 'The connection to the hub was lost.') {
  return new SwitchboardError('connection-lost', message, { cause });
}

/** Whether an error means "try again after reconnecting" rather than "the hub said no". */
export function isLost(error) {
  return error instanceof SwitchboardError ? error.code === 'connection-lost' || error.code === 'unavailable' : true;
}
