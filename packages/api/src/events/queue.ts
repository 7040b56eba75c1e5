/**
 * A small per-subscription queue that a subscription's generator awaits. Much lighter than
 * `events.on(emitter)`, which matters with thousands of sockets. Overflow ends the subscription
 * so that the client resumes from the log instead of the server buffering without bound.
 */
export class SubscriptionQueue<T> {
  private items: T[] = [];
  /** The pending take's promise, settled by the next push, the overflow or the abort. */
  private waiter: { resolve: (batch: T[] | null) => void; reject: (err: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly capacity = 10_000,
  ) {
    signal?.addEventListener('abort', () => this.settle(), { once: true });
  }

  push(item: T) {
    if (this.items.length >= this.capacity) {
      this.failure = new Error('Subscriber too slow; resume from the last event id');
    } else this.items.push(item);
    this.settle();
  }

  /**
   * Everything queued since the last take, waiting for something if nothing is; null once the
   * signal aborted. A batch, not an async generator of items: the subscription's own generator
   * loops over it, so an event passes one generator on its way out instead of two. Not an async
   * function either: an idle subscription waits here, and holds only this one promise.
   */
  take(): Promise<T[] | null> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.settle();
    });
  }

  private settle() {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.signal?.aborted) waiter.resolve(null);
    else if (this.failure) waiter.reject(this.failure);
    else if (this.items.length > 0) {
      waiter.resolve(this.items);
      this.items = [];
    } else return;
    this.waiter = null;
  }
}
