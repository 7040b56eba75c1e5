import type { Bus, Channel } from './bus.js';

/** A notice for some users that is not logged: typing, call signals. Lost if nobody listens. */
export interface Ephemeral<T> {
  recipients: string[];
  payload: T;
}

/** Fans ephemeral notices out to the listening users on every instance. */
export class EphemeralHub<T> {
  private readonly listeners = new Map<string, Set<(payload: T) => void>>();
  private readonly unsubscribe: () => void;

  constructor(private readonly bus: Bus, private readonly channel: Channel) {
    this.unsubscribe = bus.subscribe(channel, (raw) => this.deliver(JSON.parse(raw) as Ephemeral<T>));
  }

  send(recipients: string[], payload: T) {
    if (recipients.length > 0) this.bus.publish(this.channel, JSON.stringify({ recipients, payload }));
  }

  listen(userId: string, listener: (payload: T) => void): () => void {
    let set = this.listeners.get(userId);
    if (!set) this.listeners.set(userId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(userId);
    };
  }

  private deliver({ recipients, payload }: Ephemeral<T>) {
    for (const userId of recipients) {
      const set = this.listeners.get(userId);
      if (set) for (const l of set) l(payload);
    }
  }

  close() {
    this.unsubscribe();
  }
}
