import { isSqlState, isUniqueViolation, storeMessages, type Db, type NewMessage, type StoreResult } from '@parley/db';

/** Messages one statement stores at most. */
const MAX_BATCH = 200;
/**
 * Statements in flight at once per instance. Two: a send that arrives while one runs need not
 * wait for it, and under load a batch fills while the other commits. (They cannot deadlock: the
 * statement locks conversations in id order, then the event clock.)
 */
const MAX_IN_FLIGHT = 2;

interface Pending {
  message: NewMessage;
  resolve(result: StoreResult): void;
  reject(err: unknown): void;
}

/**
 * Group commit for sends: the sends that arrive while statements run go together in the next
 * one. At low load each send runs alone at once, so nothing waits for a batch to fill; under load
 * one statement, one commit and one turn of the event clock's lock carry many messages. A
 * sender's sends are stored in the order they arrived: none joins a batch while an earlier one
 * of the same sender is still in flight.
 */
export class MessageStore {
  private queue: Pending[] = [];
  /** The senders of each statement in flight. */
  private readonly inFlight = new Set<Set<string>>();

  constructor(private readonly db: Db) {}

  store(message: NewMessage): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.pump();
    });
  }

  private pump() {
    while (this.inFlight.size < MAX_IN_FLIGHT) {
      const batch = this.takeBatch();
      if (batch.length === 0) return;
      const senders = new Set(batch.map((p) => p.message.senderId));
      this.inFlight.add(senders);
      void this.run(batch).finally(() => {
        this.inFlight.delete(senders);
        this.pump();
      });
    }
  }

  private async run(batch: Pending[]) {
    try {
      const results = await storeMessages(
        this.db,
        batch.map((p) => p.message),
      );
      for (const [i, p] of batch.entries()) p.resolve(results[i]!);
    } catch (err) {
      // A retry of one of these racing on another instance (unique index), or a deadlock with
      // another instance's statement: each message alone then, so one cannot fail the others.
      const alone = batch.length > 1 && (isUniqueViolation(err) || isSqlState(err, '40P01'));
      if (!alone) for (const p of batch) p.reject(err);
      else for (const p of batch) await this.storeAlone(p);
    }
  }

  /**
   * The oldest pending sends whose senders have nothing in flight, one per (conversation, sender,
   * clientId): a repeat, or a later send of a busy sender, waits its turn.
   */
  private takeBatch(): Pending[] {
    const busy = new Set([...this.inFlight].flatMap((senders) => [...senders]));
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const keys = new Set<string>();
    for (const p of this.queue) {
      const key = `${p.message.conversationId}/${p.message.senderId}/${p.message.clientId}`;
      if (batch.length < MAX_BATCH && !keys.has(key) && !busy.has(p.message.senderId)) {
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
