import { describe, expect, it } from 'vitest';
import { LiveStream } from '../src/events/live-stream.js';

function stream(opts: {
  capacity?: number;
  catchUp?: AsyncGenerator<string, void>;
  step?: (n: number) => string | string[] | undefined | Promise<string>;
}) {
  const ends: string[] = [];
  const live = new LiveStream<number, string>({
    capacity: opts.capacity ?? 100,
    catchUp: opts.catchUp,
    step: opts.step ?? ((n) => `live ${n}`),
    end: () => ends.push('end'),
  });
  return { live, ends };
}

const values = async (live: LiveStream<number, string>, count: number) => {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const next = await live.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
};

describe('LiveStream', () => {
  it('yields the catch-up first, then what was pushed meanwhile and after, in order', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* catchUp() {
      yield 'snapshot';
      await gate;
      yield 'replayed';
    }
    const { live } = stream({ catchUp: catchUp() });
    live.push(1);
    expect(await live.next()).toEqual({ done: false, value: 'snapshot' });
    const replayed = live.next();
    live.push(2);
    release();
    expect(await replayed).toEqual({ done: false, value: 'replayed' });
    expect(await values(live, 2)).toEqual(['live 1', 'live 2']);
    const waiting = live.next();
    live.push(3);
    expect(await waiting).toEqual({ done: false, value: 'live 3' });
  });

  it("passes a step's none, several and later (a promise) outputs in order", async () => {
    const { live } = stream({
      step: (n) => (n === 0 ? undefined : n === 1 ? ['a', 'b'] : Promise.resolve(`read ${n}`)),
    });
    for (const n of [0, 1, 2]) live.push(n);
    expect(await values(live, 3)).toEqual(['a', 'b', 'read 2']);
  });

  it('ends a waiting read at once on return, calls end once, and ignores later pushes', async () => {
    const { live, ends } = stream({});
    const waiting = live.next();
    expect(await live.return()).toEqual({ done: true, value: undefined });
    expect(await waiting).toEqual({ done: true, value: undefined });
    live.push(1);
    expect(await live.next()).toEqual({ done: true, value: undefined });
    await live.return();
    expect(ends).toEqual(['end']);
  });

  it('returns a catch-up that is still running', async () => {
    let finished = false;
    async function* catchUp() {
      try {
        yield 'first';
        yield 'never';
      } finally {
        finished = true;
      }
    }
    const { live, ends } = stream({ catchUp: catchUp() });
    expect(await live.next()).toEqual({ done: false, value: 'first' });
    await live.return();
    expect(finished).toBe(true);
    expect(ends).toEqual(['end']);
  });

  it('fails once more than its capacity waits, so the client resumes from the log', async () => {
    const { live, ends } = stream({ capacity: 2 });
    for (const n of [1, 2, 3]) live.push(n);
    await expect(live.next()).rejects.toThrow(/too slow/);
    expect(ends).toEqual(['end']);
    expect(await live.next()).toEqual({ done: true, value: undefined });
  });

  it('fails with the error of a step or of the catch-up, and ends', async () => {
    const failing = stream({
      step: () => {
        throw new Error('step broke');
      },
    });
    failing.live.push(1);
    await expect(failing.live.next()).rejects.toThrow('step broke');
    expect(failing.ends).toEqual(['end']);

    async function* catchUp(): AsyncGenerator<string, void> {
      yield 'first page';
      throw new Error('replay broke');
    }
    const replaying = stream({ catchUp: catchUp() });
    expect(await replaying.live.next()).toEqual({ done: false, value: 'first page' });
    await expect(replaying.live.next()).rejects.toThrow('replay broke');
    expect(replaying.ends).toEqual(['end']);
  });
});
