import type { Bus, Channel } from './bus.js';
import { UserListeners } from './listeners.js';

/** A notice for some users that is not logged: typing, call signals. Lost if nobody listens. */
export interface Ephemeral<T> {
  recipients: string[];
  payload: T;
}

/** Fans ephemeral notices out to the listening users on every instance. */
export class EphemeralHub<T> {
  private readonly listeners = new UserListeners<T>();
  private readonly unsubscribe: () => void;

  constructor(private readonly bus: Bus, private readonly channel: Channel) {
    this.unsubscribe = bus.subscribe(channel, (raw) => this.deliver(JSON.parse(raw) as Ephemeral<T>));
  }

  send(recipients: string[], payload: T) {
    if (recipients.length > 0) this.bus.publish(this.channel, JSON.stringify({ recipients, payload }));
  }

  listen(userId: string, listener: (payload: T) => void): () => void {
    return this.listeners.add(userId, listener);
  }

  private deliver({ recipients, payload }: Ephemeral<T>) {
    this.listeners.deliver(recipients, payload);
  }

  close() {
    this.unsubscribe();
  }
}
