/**
 * Fair use of the database pool: each caller (a user, or an IP before sign-in) runs at most
 * `perKey` calls at once; the rest wait in its own queue, so one user's batch of a hundred calls
 * cannot take every pooled connection while a bystander's `auth.me` waits behind it. A queue
 * longer than `maxQueued` is shed (the caller is told to retry), except for WebSocket calls: each
 * socket has a window of calls in flight (apps/server/src/drain.ts) that bounds them already, and
 * shedding them would only let the socket's next frames in, as fast as refusals can be written.
 */
export class FairShare {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(
    readonly perKey: number,
    readonly maxQueued: number,
  ) {}

  /** Runs `fn` in `key`'s share, or returns null at once when `key` already has `maxQueued` waiting and `shed` is on. */
  async run<T>(key: string, fn: () => Promise<T>, shed = true): Promise<{ value: T } | null> {
    if ((this.running.get(key) ?? 0) >= this.perKey) {
      const queue = this.waiting.get(key) ?? [];
      if (shed && queue.length >= this.maxQueued) return null;
      this.waiting.set(key, queue);
      await new Promise<void>((resolve) => queue.push(resolve));
    } else this.running.set(key, (this.running.get(key) ?? 0) + 1);
    try {
      return { value: await fn() };
    } finally {
      // The slot passes straight to the next waiter of the same key, else it is freed.
      const queue = this.waiting.get(key);
      const next = queue?.shift();
      if (queue && queue.length === 0) this.waiting.delete(key);
      if (next) next();
      else {
        const left = (this.running.get(key) ?? 1) - 1;
        if (left > 0) this.running.set(key, left);
        else this.running.delete(key);
      }
    }
  }

  /** Calls running now for `key` (tests and metrics). */
  runningFor(key: string) {
    return this.running.get(key) ?? 0;
  }
}
