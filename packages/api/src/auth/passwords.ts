import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export const BCRYPT_COST = 12;

type JobInput = { op: 'hash'; password: string; cost: number } | { op: 'compare'; password: string; hash: string };
type Job = JobInput & { id: number };
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

  constructor(size = Math.max(1, availableParallelism() - 1)) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  private spawn() {
    const worker = new Worker(new URL('./hash-worker.mjs', import.meta.url));
    worker.unref();
    worker.on('message', (msg: { id: number; result?: string | boolean; error?: string }) => {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
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
    worker.postMessage(job);
  }

  private run(job: JobInput): Promise<string | boolean> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const full: Job = { ...job, id };
      const worker = this.idle.pop();
      if (worker) {
        this.busy.set(worker, id);
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
