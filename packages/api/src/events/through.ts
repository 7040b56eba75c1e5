/**
 * `source`'s items passed through `map`, its errors through `mapError`, and `end` called once when
 * it ends, however it ends (done, thrown, returned early by the consumer). A plain iterator, not
 * another async generator: an open subscription waits in `next` for as long as it lives, and each
 * generator layer around it held its own Generator, request queue, awaited promises and closure
 * contexts. A class, so that what an idle stream holds is this object and one pending `then`.
 */
export function through<T, U>(
  source: AsyncIterable<T>,
  hooks: { map: (item: T) => U; mapError?: (err: unknown) => unknown; end?: () => void },
): AsyncIterableIterator<U> {
  return new Through(source[Symbol.asyncIterator](), hooks.map, hooks.mapError, hooks.end);
}

class Through<T, U> implements AsyncIterableIterator<U> {
  private ended = false;

  constructor(
    private readonly inner: AsyncIterator<T>,
    private readonly map: (item: T) => U,
    private readonly mapError: ((err: unknown) => unknown) | undefined,
    private readonly end: (() => void) | undefined,
  ) {}

  next(): Promise<IteratorResult<U>> {
    return this.inner.next().then(
      (result) => this.passed(result),
      (err: unknown) => this.failed(err),
    );
  }

  async return(value?: unknown): Promise<IteratorResult<U>> {
    try {
      await this.inner.return?.(value);
    } catch (err) {
      this.failed(err);
    }
    this.finish();
    return { done: true, value };
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  private passed(result: IteratorResult<T>): IteratorResult<U> {
    if (result.done) {
      this.finish();
      return result;
    }
    try {
      return { done: false, value: this.map(result.value) };
    } catch (err) {
      void this.inner.return?.();
      return this.failed(err);
    }
  }

  private failed(err: unknown): never {
    this.finish();
    throw this.mapError ? this.mapError(err) : err;
  }

  private finish() {
    if (this.ended) return;
    this.ended = true;
    this.end?.();
  }
}
