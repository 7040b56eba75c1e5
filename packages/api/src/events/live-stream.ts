type Outcome<Out> = Out | Out[] | undefined;

type StreamHooks<Item, Out> = {
  step: (item: Item) => Outcome<Out> | Promise<Outcome<Out>>;
  end: () => void;
  capacity: number;
};

const DONE: Promise<IteratorResult<never, undefined>> = Promise.resolve({ done: true, value: undefined });

/**
 * A subscription's stream: what `catchUp` yields first (a snapshot, a replay; a finite async
 * generator, which runs only once the stream is read, so anything pushed meanwhile waits), then
 * each live item pushed, passed through `step` (none, one or several outputs; a promise only when
 * it must read). Not an async generator: an open subscription waits here for as long as it lives,
 * and a suspended generator held its frame, its request queue and their promises; this holds one
 * pending wait. And `return()` ends it at once, even while it waits (a generator's waits for its
 * `await` to finish), so the stream needs no AbortSignal. Overflow ends it with an error, so that
 * the client resumes from the log instead of the server buffering without bound. `end` runs once,
 * however it ends.
 */
export class LiveStream<Item, Out> implements AsyncIterableIterator<Out> {
  private pending: Item[] = [];
  /** A step's outputs not yet read (a step may give several). */
  private ready: Out[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  /** Dropped once done: a finished generator still holds its frame. */
  private catchUp: AsyncGenerator<Out, void> | null;
  private ended = false;
  private readonly hooks: StreamHooks<Item, Out>;

  constructor({ catchUp, ...hooks }: StreamHooks<Item, Out> & { catchUp?: AsyncGenerator<Out, void> }) {
    this.catchUp = catchUp ?? null;
    this.hooks = hooks;
  }

  /** True once the stream ended: a catch-up reading page after page stops early. */
  get closed() {
    return this.ended;
  }

  push(item: Item) {
    if (this.ended) return;
    if (this.pending.length >= this.hooks.capacity)
      this.failure ??= new Error('Subscriber too slow; resume from the last event id');
    else this.pending.push(item);
    this.wakeUp();
  }

  next(): Promise<IteratorResult<Out>> {
    const catchUp = this.catchUp;
    if (catchUp === null) return this.live();
    return catchUp.next().then(
      (result) => {
        if (!result.done) return result;
        this.catchUp = null;
        return this.live();
      },
      (err: unknown) => {
        this.finish();
        throw err;
      },
    );
  }

  return(value?: unknown): Promise<IteratorResult<Out>> {
    const catchUp = this.catchUp;
    this.catchUp = null;
    this.finish();
    const done = { done: true as const, value };
    return catchUp ? catchUp.return(undefined).then(() => done) : Promise.resolve(done);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private live(): Promise<IteratorResult<Out>> {
    for (;;) {
      if (this.ended) return DONE;
      if (this.failure) return this.fail(this.failure);
      const out = this.ready.shift();
      if (out !== undefined) return Promise.resolve({ done: false, value: out });
      const item = this.pending.shift();
      if (item === undefined) return new Promise<void>((resolve) => (this.wake = resolve)).then(() => this.live());
      let outcome: Outcome<Out> | Promise<Outcome<Out>>;
      try {
        outcome = this.hooks.step(item);
      } catch (err) {
        return this.fail(err);
      }
      if (outcome instanceof Promise)
        return outcome.then(
          (later) => {
            this.keep(later);
            return this.live();
          },
          (err: unknown) => this.fail(err),
        );
      this.keep(outcome);
    }
  }

  private keep(outcome: Outcome<Out>) {
    if (outcome === undefined) return;
    if (Array.isArray(outcome)) this.ready.push(...outcome);
    else this.ready.push(outcome);
  }

  private fail(err: unknown): Promise<never> {
    this.finish();
    return Promise.reject(err);
  }

  private wakeUp() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private finish() {
    if (this.ended) return;
    this.ended = true;
    this.pending = [];
    this.ready = [];
    this.wakeUp();
    this.hooks.end();
  }
}
