/**
 * What instances tell each other on the bus, as schemas: every message from another instance is
 * parsed (never cast), and one that does not parse is dropped with a warning (the log of record is
 * in PostgreSQL; a reader catches up from there).
 */
import { blockChanged, callEvent, callSignalEvent, presenceState, storedEvent, typing } from '@parley/protocol';
import { z } from 'zod';

/** An event of the log, committed: "look, there is something new". */
export const loggedEnvelope = z.object({
  partition: z.number().int().min(0),
  id: z.number().int().positive(),
  recipients: z.array(z.string()),
  event: storedEvent,
});
export type LoggedEvent = z.infer<typeof loggedEnvelope>;

/** A notice for some users that is not logged (typing, call events). */
export const ephemeralEnvelope = <T extends z.ZodType>(payload: T) =>
  z.object({ recipients: z.array(z.string()), payload });

export const typingEnvelope = ephemeralEnvelope(typing);
/** Call events; a signal may be addressed to one device (session) only. The addressed form first: a union takes the first match. */
export const callEnvelope = ephemeralEnvelope(z.union([callSignalEvent.extend({ toDeviceId: z.string() }), callEvent]));
/** A block was made or lifted: sent to the blocked user's streams. */
export const blockEnvelope = ephemeralEnvelope(blockChanged);
/** A user's presence changed somewhere. */
export const presenceChange = presenceState;
/** These sessions were revoked: close their sockets. */
export const revokedSessions = z.array(z.string());

/** Parses a bus message, or null (and a warning) when it does not parse. */
export function parseWire<T extends z.ZodType>(schema: T, raw: string, warn: (msg: string) => void): z.infer<T> | null {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    warn('Bus message is not JSON; dropped');
    return null;
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  warn(`Bus message does not match its schema; dropped: ${parsed.error.issues[0]?.message ?? ''}`);
  return null;
}
