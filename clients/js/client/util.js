// Small helpers shared by the client's modules: ids, base64, delays, topic patterns, events.

/** A random id (UUID v4 where the platform has one): idempotency keys and frame ids. */
export function newId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function bytesToBase64(bytes) {
  let binary = '';
  // 32 KiB per call keeps String.fromCharCode's argument list well under engines' limits.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function base64ToBytes(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function base64url(text) {
  return bytesToBase64(new TextEncoder().encode(text)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Exponential backoff with "full jitter" between half and all of the step: attempt 0 waits about `initial`,
 * each further attempt doubles it up to `max`. Jitter spreads a crowd of clients that lost the same hub.
 */
export function backoff(attempt, initial, max) {
  const step = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return step / 2 + Math.random() * (step / 2);
}

/** Whether a subscription pattern has a wildcard token (`*` one token, `>` the rest). */
export function isWildcard(pattern) {
  return pattern.split('.').some((token) => token === '*' || token === '>');
}

/** The literal prefix every topic a pattern matches starts with (as the hub computes it for listings). */
export function literalPrefix(pattern) {
  const tokens = pattern.split('.');
  let literal = 0;
  while (literal < tokens.length && tokens[literal] !== '*' && tokens[literal] !== '>') literal++;
  if (literal === tokens.length) return pattern;
  return tokens.slice(0, literal).join('.') + (literal > 0 ? '.' : '');
}

/** The hub's matching rule: `*` is exactly one token, a final `>` one or more; a leading wildcard never matches `$` topics. */
export function matches(pattern, topic) {
  if (topic.startsWith('$') && (pattern.startsWith('*') || pattern.startsWith('>'))) return false;
  const want = pattern.split('.');
  const have = topic.split('.');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '>') return have.length > i;
    if (i >= have.length || have[i] === '' || (want[i] !== '*' && want[i] !== have[i])) return false;
  }
  return have.length === want.length;
}

/** A minimal event emitter (`on`, `off`, `once`), the same in browsers and Node. */
export class Emitter {
  #listeners = new Map();

  on(event, listener) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(listener);
    return this;
  }

  off(event, listener) {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  once(event, listener) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  emit(event, ...args) {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        // A listener's bug must not break the connection; report it where it can be seen.
        if (event !== 'error') this.emit('error', error);
        else queueMicrotask(() => { throw error; });
      }
    }
  }
}
