import type { z } from 'zod';
import type { Logger } from '../logger.js';
import type { Bus, Channel } from './bus.js';
import { UserListeners } from './listeners.js';
import { parseWire } from './wire.js';

/** Fans ephemeral notices (typing, call events) out to the listening users on every instance. Lost if nobody listens. */
export class EphemeralHub<T> {
  private readonly listeners = new UserListeners<T>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly bus: Bus,
    private readonly channel: Channel,
    envelope: z.ZodType<{ recipients: string[]; payload: T }>,
    logger: Logger,
  ) {
    this.unsubscribe = bus.subscribe(channel, (raw) => {
      const notice = parseWire(envelope, raw, (msg) => logger.warn({ channel }, msg));
      if (notice) this.listeners.deliver(notice.recipients, notice.payload);
    });
  }

  send(recipients: string[], payload: T) {
    if (recipients.length > 0) this.bus.publish(this.channel, JSON.stringify({ recipients, payload }));
  }

  listen(userId: string, listener: (payload: T) => void): () => void {
    return this.listeners.add(userId, listener);
  }

  close() {
    this.unsubscribe();
  }
}
