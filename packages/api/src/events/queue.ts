/**
 * A small per-subscription queue that a subscription's generator awaits. Much lighter than
 * `events.on(emitter)`, which matters with thousands of sockets. Overflow ends the subscription
 * so that the client resumes from the log instead of the server buffering without bound.
 */
export class SubscriptionQueue<T> {
  private items: T[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;

  constructor(
    private readonly signal: AbortSignal | undefined,
    private readonly capacity = 10_000,
  ) {
    signal?.addEventListener('abort', () => this.wake?.(), { once: true });
  }

  push(item: T) {
    if (this.items.length >= this.capacity) {
      this.failure = new Error('Subscriber too slow; resume from the last event id');
    } else this.items.push(item);
    this.wake?.();
  }

  /**
   * Everything queued since the last take, waiting for something if nothing is; null once the
   * signal aborted. A batch, not an async generator of items: the subscription's own generator
   * loops over it, so an event passes one generator on its way out instead of two.
   */
  async take(): Promise<T[] | null> {
    while (!this.signal?.aborted) {
      if (this.failure) throw this.failure;
      if (this.items.length > 0) {
        const batch = this.items;
        this.items = [];
        return batch;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    return null;
  }
}
