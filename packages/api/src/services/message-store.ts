import { isSqlState, isUniqueViolation, storeMessages, type Db, type NewMessage, type StoreResult } from '@parley/db';

/** Messages one statement stores at most. */
const MAX_BATCH = 200;

interface Pending {
  message: NewMessage;
  resolve(result: StoreResult): void;
  reject(err: unknown): void;
}

/**
 * Group commit for sends. One statement at a time per instance: the sends that arrive while it
 * runs go together in the next one. At low load each send runs alone at once, so nothing waits
 * for a batch to fill; under load one statement, one commit and one turn of the event clock's
 * lock carry many messages.
 */
export class MessageStore {
  private queue: Pending[] = [];
  private running = false;

  constructor(private readonly db: Db) {}

  store(message: NewMessage): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run() {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.takeBatch();
      try {
        const results = await storeMessages(this.db, batch.map((p) => p.message));
        batch.forEach((p, i) => p.resolve(results[i]!));
      } catch (err) {
        // A retry of one of these racing on another instance (unique index), or a deadlock with
        // another instance's statement: each message alone then, so one cannot fail the others.
        const alone = batch.length > 1 && (isUniqueViolation(err) || isSqlState(err, '40P01'));
        if (!alone) for (const p of batch) p.reject(err);
        else for (const p of batch) await this.storeAlone(p);
      }
    }
    this.running = false;
  }

  /** The oldest pending sends, one per (conversation, sender, clientId): a repeat waits its turn. */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const keys = new Set<string>();
    for (const p of this.queue) {
      const key = `${p.message.conversationId}/${p.message.senderId}/${p.message.clientId}`;
      if (batch.length < MAX_BATCH && !keys.has(key)) {
        keys.add(key);
        batch.push(p);
      } else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async storeAlone(p: Pending) {
    try {
      p.resolve((await storeMessages(this.db, [p.message]))[0]!);
    } catch (err) {
      p.reject(err);
    }
  }
}
