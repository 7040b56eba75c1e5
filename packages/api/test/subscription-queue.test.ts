import { describe, expect, it } from 'vitest';
import { SubscriptionQueue } from '../src/events/queue.js';

describe('SubscriptionQueue', () => {
  it('hands over what was pushed, in order, as one batch per take, and waits when empty', async () => {
    const queue = new SubscriptionQueue<number>(new AbortController().signal);
    queue.push(1);
    queue.push(2);
    expect(await queue.take()).toEqual([1, 2]);
    const waiting = queue.take();
    queue.push(3);
    queue.push(4);
    expect(await waiting).toEqual([3]);
    expect(await queue.take()).toEqual([4]);
  });

  it('answers null to a waiting take and to every later one once the signal aborts', async () => {
    const controller = new AbortController();
    const queue = new SubscriptionQueue<number>(controller.signal);
    const waiting = queue.take();
    controller.abort();
    expect(await waiting).toBeNull();
    queue.push(1);
    expect(await queue.take()).toBeNull();
  });

  it('fails the take once more than its capacity waits, so the client resumes from the log', async () => {
    const queue = new SubscriptionQueue<number>(new AbortController().signal, 2);
    for (const n of [1, 2, 3]) queue.push(n);
    await expect(queue.take()).rejects.toThrow(/too slow/);
  });
});
