import { TRPCError } from '@trpc/server';
import type { Config } from '@parley/config';
import {
  acceptCall,
  declineCall,
  endCallsAbandonedBy,
  endOverdueRingingCalls,
  findCall,
  findConversationForMember,
  hangupCall,
  insertBusyCall,
  insertRingingCall,
  liveCallsOf,
  lockCallParticipants,
  memberIds,
  ringingCallsFor,
  type CallRow,
  type Db,
} from '@parley/db';
import type { CallMedia, CallSignal } from '@parley/validators';
import type { EphemeralHub } from '../events/ephemeral.js';
import { SubscriptionQueue } from '../events/queue.js';
import type { Logger } from '../logger.js';
import { iso, isoOrNull } from '../presenters.js';
import type { Presence } from './presence.js';
import { iceServersFor } from './turn.js';

export function toCall(row: CallRow) {
  return {
    id: row.id,
    conversationId: row.conversationId,
    callerId: row.callerId,
    calleeId: row.calleeId,
    media: row.media,
    state: row.state,
    endReason: row.endReason,
    createdAt: iso(row.createdAt),
    answeredAt: isoOrNull(row.answeredAt),
    endedAt: isoOrNull(row.endedAt),
  };
}
export type Call = ReturnType<typeof toCall>;

export type CallStateEvent = { type: 'call.incoming' | 'call.accepted' | 'call.declined' | 'call.ended'; call: Call };
export type CallSignalEvent = { type: 'signal'; callId: string; fromUserId: string; signal: CallSignal };
/** What `calls.onEvent` yields. */
export type CallEvent = CallStateEvent | CallSignalEvent;

const callNotFound = () => new TRPCError({ code: 'NOT_FOUND', message: 'Call not found.' });
const conflict = (message: string) => new TRPCError({ code: 'CONFLICT', message });

/**
 * The call state machine: ringing → active → ended, or ringing → ended (declined, missed,
 * hangup). State is in PostgreSQL and every transition is a conditional UPDATE (see
 * queries/calls.ts); the notices about it travel on the 'calls' channel to both participants'
 * devices on every instance. They are not logged: a device that subscribes late is told about
 * the calls ringing for it when it subscribes.
 */
export class CallService {
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly stopWatchingPresence: () => void;
  /** Participants who went offline, checked again once the grace period is over. */
  private readonly goneTimers = new Map<string, NodeJS.Timeout>();
  /** Once per call that starts ringing, on the instance that started it (push notifications). */
  onRinging: ((call: Call) => void) | null = null;

  constructor(
    private readonly deps: {
      db: Db;
      config: Config;
      hub: EphemeralHub<CallEvent>;
      presence: Presence;
      logger: Logger;
      sweepIntervalMs?: number;
    },
  ) {
    // Every instance sweeps, so a call still ends as missed when the instance that started it is gone.
    const interval =
      deps.sweepIntervalMs ?? Math.min(1000, Math.max(25, Math.floor(deps.config.callRingTimeoutMs / 5)));
    this.sweepTimer = setInterval(() => void this.sweep(), interval);
    this.sweepTimer.unref();
    // A participant with no socket anywhere (closed tab, dead phone, crashed instance) would leave
    // the other one in a call that never ends, and busy for everyone else.
    this.stopWatchingPresence = deps.presence.onChange(({ userId, online }) => {
      clearTimeout(this.goneTimers.get(userId));
      this.goneTimers.delete(userId);
      if (online) return;
      const timer = setTimeout(() => {
        this.goneTimers.delete(userId);
        void this.endAbandonedCalls(userId);
      }, deps.config.callAbandonGraceMs);
      this.goneTimers.set(userId, timer.unref());
    });
  }

  async start(callerId: string, input: { conversationId: string; media: CallMedia }): Promise<Call> {
    const found = await findConversationForMember(this.deps.db, input.conversationId, callerId);
    if (!found) throw new TRPCError({ code: 'NOT_FOUND', message: 'Conversation not found.' });
    if (found.conversation.kind !== 'direct') {
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'Calls are only possible in direct conversations.' });
    }
    const calleeId = (await memberIds(this.deps.db, input.conversationId)).find((id) => id !== callerId);
    if (!calleeId) throw new TRPCError({ code: 'BAD_REQUEST', message: 'There is nobody to call here.' });

    const result = await this.deps.db.transaction(async (tx) => {
      await lockCallParticipants(tx, [callerId, calleeId]);
      const live = await liveCallsOf(tx, [callerId, calleeId]);
      const involves = (userId: string) => live.some((c) => c.callerId === userId || c.calleeId === userId);
      if (involves(callerId)) return { kind: 'caller-busy' as const };
      const values = { conversationId: input.conversationId, callerId, calleeId, media: input.media };
      if (involves(calleeId)) return { kind: 'callee-busy' as const, row: await insertBusyCall(tx, values) };
      return {
        kind: 'ringing' as const,
        row: await insertRingingCall(tx, { ...values, ringTimeoutMs: this.deps.config.callRingTimeoutMs }),
      };
    });
    if (result.kind === 'caller-busy') throw conflict('You are already in a call (busy).');
    if (result.kind === 'callee-busy') {
      this.notify([callerId], { type: 'call.ended', call: toCall(result.row) });
      throw conflict('The person you are calling is busy in another call.');
    }
    const call = toCall(result.row);
    this.notify([calleeId], { type: 'call.incoming', call });
    this.onRinging?.(call);
    return call;
  }

  async accept(userId: string, callId: string): Promise<Call> {
    const row = await acceptCall(this.deps.db, callId, userId);
    if (!row) throw await this.refusal(userId, callId, 'callee', 'answer');
    const call = toCall(row);
    this.notify([call.callerId, call.calleeId], { type: 'call.accepted', call });
    return call;
  }

  async decline(userId: string, callId: string): Promise<Call> {
    const row = await declineCall(this.deps.db, callId, userId);
    if (!row) throw await this.refusal(userId, callId, 'callee', 'decline');
    const call = toCall(row);
    this.notify([call.callerId, call.calleeId], { type: 'call.declined', call });
    return call;
  }

  async hangup(userId: string, callId: string): Promise<Call> {
    const row = await hangupCall(this.deps.db, callId, userId);
    if (!row) throw await this.refusal(userId, callId, 'participant', 'hang up');
    const call = toCall(row);
    const type = call.endReason === 'declined' ? 'call.declined' : 'call.ended';
    this.notify([call.callerId, call.calleeId], { type, call });
    return call;
  }

  /** Relays an SDP offer/answer or an ICE candidate to the other participant's devices only. */
  async signal(userId: string, callId: string, signal: CallSignal) {
    const row = await findCall(this.deps.db, callId);
    if (!row || (row.callerId !== userId && row.calleeId !== userId)) throw callNotFound();
    if (row.state === 'ended') throw conflict('The call has ended.');
    const other = row.callerId === userId ? row.calleeId : row.callerId;
    this.notify([other], { type: 'signal', callId, fromUserId: userId, signal });
    return { ok: true as const };
  }

  iceServers(userId: string) {
    return iceServersFor(userId, this.deps.config.turn);
  }

  /**
   * The user's call events. Listens first, then tells this device about calls already ringing
   * for it (it may have connected after the call started), skipping one it hears about live too.
   */
  async *events(userId: string, signal: AbortSignal | undefined): AsyncGenerator<CallEvent> {
    const queue = new SubscriptionQueue<CallEvent>(signal, 1000);
    const stop = this.deps.hub.listen(userId, (event) => queue.push(event));
    try {
      const announced = new Set<string>();
      for (const row of await ringingCallsFor(this.deps.db, userId)) {
        announced.add(row.id);
        yield { type: 'call.incoming', call: toCall(row) };
      }
      for await (const event of queue.drain()) {
        if (event.type === 'call.incoming') {
          if (announced.has(event.call.id)) continue;
          announced.add(event.call.id);
        }
        yield event;
      }
    } finally {
      stop();
    }
  }

  /** Ends ringing calls past their deadline as missed; a row is won by one instance only. */
  async sweep() {
    try {
      for (const row of await endOverdueRingingCalls(this.deps.db)) {
        const call = toCall(row);
        this.notify([call.callerId, call.calleeId], { type: 'call.ended', call });
      }
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'Ring sweep failed; will retry');
    }
  }

  /** Ends the calls of a participant still offline after the grace period. */
  private async endAbandonedCalls(userId: string) {
    try {
      if ((await this.deps.presence.onlineAmong([userId])).has(userId)) return;
      for (const row of await endCallsAbandonedBy(this.deps.db, userId)) {
        const call = toCall(row);
        this.notify([call.callerId, call.calleeId], { type: 'call.ended', call });
      }
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, userId }, 'Ending an absent participant\'s calls failed');
    }
  }

  close() {
    clearInterval(this.sweepTimer);
    this.stopWatchingPresence();
    for (const timer of this.goneTimers.values()) clearTimeout(timer);
  }

  private notify(recipients: string[], event: CallEvent) {
    this.deps.hub.send([...new Set(recipients)], event);
  }

  /** Why a transition updated no row: not the caller's call (NOT_FOUND), wrong role, or wrong state. */
  private async refusal(userId: string, callId: string, role: 'callee' | 'participant', verb: string) {
    const row = await findCall(this.deps.db, callId);
    if (!row || (row.callerId !== userId && row.calleeId !== userId)) return callNotFound();
    if (role === 'callee' && row.calleeId !== userId) {
      return new TRPCError({ code: 'FORBIDDEN', message: `Only the person called can ${verb} the call.` });
    }
    if (row.state === 'active') return conflict('The call was already answered.');
    if (row.state === 'ended') return conflict('The call has already ended.');
    return conflict('The call is no longer ringing.');
  }
}
