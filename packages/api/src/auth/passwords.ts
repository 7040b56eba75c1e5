import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { RateLimited } from '../errors.js';

export const BCRYPT_COST = 12;
/**
 * Hashes waiting for a worker, at most. Beyond it a sign-in is refused at once with
 * TOO_MANY_REQUESTS and the wait the queue implies, instead of queueing without bound (six IPs
 * × 30 logins once delayed a real sign-in by 53 s). Refreshes and signed-in calls never hash.
 */
export const MAX_HASH_QUEUE = 8;

type JobInput = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };
type Job = JobInput & { id: number; startedAt?: number };
type Pending = { resolve: (v: string | boolean) => void; reject: (e: Error) => void };

/**
 * A small pool of worker threads for bcrypt, so that a storm of logins never stalls the event
 * loop. One core is left to the main thread.
 */
export class PasswordHasher {
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly busy = new Map<Worker, number>();
  private nextId = 1;
  private readonly workers: Worker[] = [];
  private readonly started = new Map<number, number>();
  /** A moving average of one hash's duration, for the retry time of a refused one. */
  private averageMs = 300;

  constructor(
    size = Math.max(1, availableParallelism() - 1),
    private readonly maxQueued = MAX_HASH_QUEUE,
  ) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  private spawn() {
    const worker = new Worker(new URL('./hash-worker.mjs', import.meta.url));
    worker.unref();
    worker.on('message', (msg: { id: number; result?: string | boolean; error?: string }) => {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      const startedAt = this.started.get(msg.id);
      this.started.delete(msg.id);
      if (startedAt !== undefined) this.averageMs = 0.8 * this.averageMs + 0.2 * (Date.now() - startedAt);
      this.busy.delete(worker);
      if (p) msg.error !== undefined ? p.reject(new Error(msg.error)) : p.resolve(msg.result!);
      this.release(worker);
    });
    worker.on('error', (err) => {
      const id = this.busy.get(worker);
      if (id !== undefined) this.pending.get(id)?.reject(err);
      this.busy.delete(worker);
      this.workers.splice(this.workers.indexOf(worker), 1);
      this.spawn();
    });
    this.workers.push(worker);
    this.release(worker);
  }

  private release(worker: Worker) {
    const job = this.queue.shift();
    if (!job) {
      this.idle.push(worker);
      return;
    }
    this.busy.set(worker, job.id);
    this.started.set(job.id, Date.now());
    worker.postMessage(job);
  }

  /** Hashes waiting for a worker now. */
  get queued() {
    return this.queue.length;
  }

  private run(job: JobInput): Promise<string | boolean> {
    if (this.idle.length === 0 && this.queue.length >= this.maxQueued) {
      const waitMs = Math.ceil(((this.queue.length + 1) * this.averageMs) / this.workers.length);
      return Promise.reject(
        new RateLimited(waitMs, 'Many people are signing in right now. Please try again in a moment.'),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const full: Job = { ...job, id };
      const worker = this.idle.pop();
      if (worker) {
        this.busy.set(worker, id);
        this.started.set(id, Date.now());
        worker.postMessage(full);
      } else this.queue.push(full);
    });
  }

  async hash(password: string, cost = BCRYPT_COST): Promise<string> {
    return (await this.run({ op: 'hash', password, cost })) as string;
  }

  async compare(password: string, hash: string): Promise<boolean> {
    return (await this.run({ op: 'compare', password, hash })) === true;
  }

  async close() {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
