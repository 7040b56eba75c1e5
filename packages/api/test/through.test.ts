import { describe, expect, it } from 'vitest';
import { through } from '../src/events/through.js';

async function* counting(upTo: number, log: string[], failAt?: number) {
  try {
    for (let i = 1; i <= upTo; i++) {
      if (i === failAt) throw new Error(`failed at ${i}`);
      yield i;
    }
  } finally {
    log.push('source finally');
  }
}

describe('through', () => {
  it('maps every item in order and ends once when the source is done', async () => {
    const log: string[] = [];
    const stream = through(counting(3, log), { map: (n) => n * 10, end: () => log.push('end') });
    const seen: number[] = [];
    for await (const n of stream) seen.push(n);
    expect(seen).toEqual([10, 20, 30]);
    expect(await stream.next()).toEqual({ done: true, value: undefined });
    expect(log).toEqual(['source finally', 'end']);
  });

  it("passes the source's error through mapError and ends once", async () => {
    const log: string[] = [];
    const stream = through(counting(3, log, 2), {
      map: (n) => n,
      mapError: (err) => new TypeError(`mapped: ${(err as Error).message}`),
      end: () => log.push('end'),
    });
    expect(await stream.next()).toEqual({ done: false, value: 1 });
    await expect(stream.next()).rejects.toThrow(new TypeError('mapped: failed at 2'));
    await stream.return?.();
    expect(log).toEqual(['source finally', 'end']);
  });

  it('returns the source early when the consumer stops (its finally runs), and ends once', async () => {
    const log: string[] = [];
    const stream = through(counting(100, log), { map: (n) => n, end: () => log.push('end') });
    for await (const n of stream) if (n === 2) break;
    await stream.return?.();
    expect(log).toEqual(['source finally', 'end']);
  });

  it('ends the source when map throws, and rejects with the mapped error', async () => {
    const log: string[] = [];
    const stream = through(counting(3, log), {
      map: (n) => {
        if (n === 2) throw new Error('bad item');
        return n;
      },
      mapError: (err) => new RangeError((err as Error).message),
      end: () => log.push('end'),
    });
    expect(await stream.next()).toEqual({ done: false, value: 1 });
    await expect(stream.next()).rejects.toThrow(new RangeError('bad item'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['end', 'source finally']);
  });
});
