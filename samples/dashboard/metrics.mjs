// What the dashboard sample measures, and how a metric reads as one line of text (the producer, the terminal
// watcher and the page show the same words). Only Node's os module and, on Linux, /proc/meminfo.
import os from 'node:os';
import { readFileSync } from 'node:fs';

/** CPU time so far, summed over every core: busy and total, in milliseconds. */
function cpuTimes() {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const sum = times.user + times.nice + times.sys + times.irq + times.idle;
    busy += sum - times.idle;
    total += sum;
  }
  return { busy, total };
}

/** Memory in use: MemTotal - MemAvailable on Linux (what `free` calls available), else os.freemem(). */
function memory() {
  try {
    const info = readFileSync('/proc/meminfo', 'utf8');
    const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(info)?.[1]) * 1024;
    const totalBytes = kib('MemTotal');
    const availableBytes = kib('MemAvailable');
    if (totalBytes > 0 && availableBytes >= 0) return { totalBytes, usedBytes: totalBytes - availableBytes };
  } catch {
    // not Linux: fall through
  }
  return { totalBytes: os.totalmem(), usedBytes: os.totalmem() - os.freemem() };
}

/** A sampler: each call returns the metrics since the previous call, as { topic: payload }. */
export function sampler(host = os.hostname()) {
  let previous = cpuTimes();
  return () => {
    const now = cpuTimes();
    const total = now.total - previous.total;
    const cpuPercent = total > 0 ? (100 * (now.busy - previous.busy)) / total : 0;
    previous = now;
    const { totalBytes, usedBytes } = memory();
    const [load1, load5, load15] = os.loadavg();
    const round = (value, digits) => Number(value.toFixed(digits));
    return {
      'metrics.cpu': { host, percent: round(cpuPercent, 1), cores: os.cpus().length },
      'metrics.memory': { host, percent: round((100 * usedBytes) / totalBytes, 1), usedBytes, totalBytes },
      'metrics.load': { host, load1: round(load1, 2), load5: round(load5, 2), load15: round(load15, 2) },
    };
  };
}

/** One metric as text: "cpu 12.3% of 2 cores", "memory 41.0% of 7.8 GiB", "load 0.52 0.40 0.31". */
export function describe(topic, payload) {
  switch (topic) {
    case 'metrics.cpu': return `cpu ${payload.percent.toFixed(1)}% of ${payload.cores} cores`;
    case 'metrics.memory': return `memory ${payload.percent.toFixed(1)}% of ${(payload.totalBytes / 2 ** 30).toFixed(1)} GiB`;
    case 'metrics.load': return `load ${payload.load1.toFixed(2)} ${payload.load5.toFixed(2)} ${payload.load15.toFixed(2)}`;
    default: return JSON.stringify(payload);
  }
}
