import type { BlockRules } from './blocks.js';
import type { Config } from '@parley/config';
import {
  acceptCall,
  busyAmong,
  callsInConversation,
  closeParticipants,
  declineCall,
  endCallsAbandonedBy,
  endEmptyGroupCall,
  endOverdueRingingCalls,
  findCall,
  findConversationForMember,
  hangupCall,
  insertBusyCall,
  insertGroupCall,
  insertRingingCall,
  joinParticipant,
  leaveParticipant,
  liveGroupCallIn,
  liveGroupCallsJoinedBy,
  lockCall,
  lockCallParticipants,
  lockConversationCalls,
  markGroupCallActive,
  memberIds,
  participantsOf,
  ringingCallsFor,
  type CallParticipantRow,
  type CallRow,
  type Db,
  type Executor,
  type Tx,
} from '@parley/db';
import type { Call, CallEvent, CallSignalEvent, CallStateEvent } from '@parley/protocol';
import type { CallMedia, CallSignal } from '@parley/validators';
import { BadRequest, Conflict, Forbidden, NotFound } from '../errors.js';
import type { EphemeralHub } from '../events/ephemeral.js';
import type { EventLog } from '../events/event-log.js';
import { LiveStream } from '../events/live-stream.js';
import type { Logger } from '../logger.js';
import { iso, isoOrNull } from '../presenters.js';
import type { Presence } from './presence.js';
import { iceServersFor } from './turn.js';

/** A mesh: every participant sends its media to every other one, so more would not hold up. */
export const MAX_GROUP_CALL_PARTICIPANTS = 4;

export function toCall(row: CallRow, participants: CallParticipantRow[]): Call {
  return {
    id: row.id,
    conversationId: row.conversationId,
    kind: row.kind,
    callerId: row.callerId,
    /** Null in a group call: every member is rung. */
    calleeId: row.calleeId,
    media: row.media,
    state: row.state,
    endReason: row.endReason,
    createdAt: iso(row.createdAt),
    answeredAt: isoOrNull(row.answeredAt),
    endedAt: isoOrNull(row.endedAt),
    /** Everyone who is or was in the call, in the order they joined. */
    participants: participants
      .filter((p) => p.callId === row.id)
      .map((p) => ({ userId: p.userId, joinedAt: iso(p.joinedAt), leftAt: isoOrNull(p.leftAt) })),
    /** Group calls: members who were in another call when this one started, and were not rung. */
    busyUserIds: row.busyUserIds,
  };
}
/** A call as the hub carries it: a signal may be meant for one device (session) only. */
export type CallHubEvent = CallEvent | (CallSignalEvent & { toDeviceId: string });

const callNotFound = () => new NotFound('Call not found.');
const conflict = (message: string, reason?: string) => new Conflict(message, reason ? { reason } : {});

/**
 * The call state machine: ringing → active → ended, or ringing → ended (declined, missed,
 * hangup). State is in PostgreSQL and every transition is a conditional UPDATE (see
 * queries/calls.ts); the notices about it travel on the 'calls' channel to the participants'
 * devices on every instance. They are not logged: a device that subscribes late is told about
 * the calls ringing for it when it subscribes. An ended call is logged (`call.logged`) for the
 * conversation's timeline.
 *
 * Group calls (a mesh of up to 4): every member is rung; anyone may join while the call lasts;
 * it is active once two are in it and ends when the last one leaves. Signals are addressed to
 * one participant and reach only the device (session) that joined.
 */
export class CallService {
  /** Blocking's rules (set by createServices): no calls in a direct chat where either blocked the other. */
  blockRules: BlockRules | null = null;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly stopWatchingPresence: () => void;
  /** Participants who went offline, checked again once the grace period is over. */
  private readonly goneTimers = new Map<string, NodeJS.Timeout>();
  /** Once per call that starts ringing, on the instance that started it (push notifications). */
  onRinging: ((call: Call, rung: string[]) => void) | null = null;

  constructor(
    private readonly deps: {
      db: Db;
      config: Config;
      hub: EphemeralHub<CallHubEvent>;
      events: EventLog;
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

  async start(callerId: string, deviceId: string, input: { conversationId: string; media: CallMedia }): Promise<Call> {
    const found = await findConversationForMember(this.deps.db, input.conversationId, callerId);
    if (!found) throw new NotFound('Conversation not found.');
    if (found.conversation.kind === 'group') return this.startGroup(callerId, deviceId, input);
    await this.blockRules?.guardDirect(callerId, input.conversationId);
    const calleeId = (await memberIds(this.deps.db, input.conversationId)).find((id) => id !== callerId);
    if (!calleeId) throw new BadRequest('There is nobody to call here.');

    const result = await this.deps.events.transaction(async (tx) => {
      await lockCallParticipants(tx, [callerId, calleeId]);
      const busy = await busyAmong(tx, [callerId, calleeId]);
      if (busy.has(callerId)) return { kind: 'caller-busy' as const };
      const values = { conversationId: input.conversationId, callerId, calleeId, media: input.media };
      if (busy.has(calleeId)) {
        return { kind: 'callee-busy' as const, ...(await this.logEnded(tx, [await insertBusyCall(tx, values)])) };
      }
      const row = await insertRingingCall(tx, { ...values, ringTimeoutMs: this.deps.config.callRingTimeoutMs });
      await joinParticipant(tx, row.id, callerId, deviceId);
      return { kind: 'ringing' as const, row };
    });
    if (result.kind === 'caller-busy') throw conflict('You are already in a call (busy).', 'busy');
    if (result.kind === 'callee-busy') {
      this.notify([callerId], { type: 'call.ended', call: result.calls[0]!.call });
      throw conflict('The person you are calling is busy in another call.', 'busy');
    }
    const call = await this.view(result.row);
    this.notify([calleeId], { type: 'call.incoming', call });
    this.onRinging?.(call, [calleeId]);
    return call;
  }

  /**
   * Rings every member who is not in another call. A group has one call at a time: starting one
   * while it lasts joins it (two members pressing "call" together end up in the same call).
   */
  private async startGroup(callerId: string, deviceId: string, input: { conversationId: string; media: CallMedia }) {
    const others = (await memberIds(this.deps.db, input.conversationId)).filter((id) => id !== callerId);
    if (others.length === 0) throw new BadRequest('There is nobody to call here.');
    const result = await this.deps.events.transaction(async (tx) => {
      await lockConversationCalls(tx, input.conversationId);
      await lockCallParticipants(tx, [callerId]);
      const existing = await liveGroupCallIn(tx, input.conversationId);
      if (existing) return { kind: 'existing' as const, row: existing };
      if ((await busyAmong(tx, [callerId])).has(callerId)) return { kind: 'caller-busy' as const };
      const busy = await busyAmong(tx, others);
      const row = await insertGroupCall(tx, {
        conversationId: input.conversationId,
        callerId,
        media: input.media,
        busyUserIds: others.filter((id) => busy.has(id)),
        ringTimeoutMs: this.deps.config.callRingTimeoutMs,
      });
      await joinParticipant(tx, row.id, callerId, deviceId);
      return { kind: 'ringing' as const, row, rung: others.filter((id) => !busy.has(id)) };
    });
    if (result.kind === 'caller-busy') throw conflict('You are already in a call (busy).');
    if (result.kind === 'existing') return this.join(callerId, deviceId, result.row.id);
    const call = await this.view(result.row);
    this.notify(result.rung, { type: 'call.incoming', call });
    this.onRinging?.(call, result.rung);
    return call;
  }

  /** Joins a group call while it lasts; in a direct call, the same as accepting it. */
  async join(userId: string, deviceId: string, callId: string): Promise<Call> {
    const found = await findCall(this.deps.db, callId);
    if (!found || !(await findConversationForMember(this.deps.db, found.conversationId, userId))) throw callNotFound();
    if (found.kind === 'direct') return this.accept(userId, deviceId, callId);
    const result = await this.deps.events.transaction(async (tx) => {
      await lockCallParticipants(tx, [userId]);
      const locked = await lockCall(tx, callId);
      if (!locked || locked.call.state === 'ended' || (locked.call.state === 'ringing' && locked.overdue)) {
        return { kind: 'ended' as const };
      }
      if ((await busyAmong(tx, [userId], callId)).has(userId)) return { kind: 'busy' as const };
      const active = (await participantsOf(tx, [callId])).filter((p) => p.leftAt === null);
      const already = active.some((p) => p.userId === userId);
      if (!already && active.length >= MAX_GROUP_CALL_PARTICIPANTS) return { kind: 'full' as const };
      await joinParticipant(tx, callId, userId, deviceId);
      const count = active.length + (already ? 0 : 1);
      const row = (count >= 2 ? await markGroupCallActive(tx, callId) : undefined) ?? locked.call;
      return { kind: 'joined' as const, row };
    });
    if (result.kind === 'ended') throw conflict('The call has already ended.');
    if (result.kind === 'busy') throw conflict('You are already in another call (busy).');
    if (result.kind === 'full') {
      throw conflict(`The call is full (at most ${MAX_GROUP_CALL_PARTICIPANTS} people).`);
    }
    const call = await this.view(result.row);
    this.notify(await memberIds(this.deps.db, call.conversationId), { type: 'call.joined', call, userId });
    return call;
  }

  async accept(userId: string, deviceId: string, callId: string): Promise<Call> {
    const found = await findCall(this.deps.db, callId);
    if (found?.kind === 'group') return this.join(userId, deviceId, callId);
    const row = await this.deps.events.transaction(async (tx) => {
      const accepted = await acceptCall(tx, callId, userId);
      if (accepted) await joinParticipant(tx, callId, userId, deviceId);
      return accepted;
    });
    if (!row) throw await this.refusal(userId, callId, 'callee', 'answer');
    const call = await this.view(row);
    this.notify([row.callerId, userId], { type: 'call.accepted', call });
    return call;
  }

  async decline(userId: string, callId: string): Promise<Call> {
    const found = await findCall(this.deps.db, callId);
    if (found?.kind === 'group') return this.declineGroup(userId, found);
    const ended = await this.deps.events.transaction(async (tx) => {
      const row = await declineCall(tx, callId, userId);
      return row ? this.logEnded(tx, [row]) : null;
    });
    if (!ended) throw await this.refusal(userId, callId, 'callee', 'decline');
    return this.announceEnded(ended, 'call.declined');
  }

  /** Declining a group call only stops it ringing on the member's own devices; the others go on. */
  private async declineGroup(userId: string, row: CallRow): Promise<Call> {
    if (!(await findConversationForMember(this.deps.db, row.conversationId, userId))) throw callNotFound();
    if (row.state === 'ended') throw conflict('The call has already ended.');
    const call = await this.view(row);
    if (call.participants.some((p) => p.userId === userId && p.leftAt === null)) {
      throw conflict('You are in this call; hang up to leave it.');
    }
    this.notify([userId], { type: 'call.declined', call });
    return call;
  }

  async hangup(userId: string, callId: string): Promise<Call> {
    const found = await findCall(this.deps.db, callId);
    if (found?.kind === 'group') return this.leave(userId, found);
    const ended = await this.deps.events.transaction(async (tx) => {
      const row = await hangupCall(tx, callId, userId);
      return row ? this.logEnded(tx, [row]) : null;
    });
    if (!ended) throw await this.refusal(userId, callId, 'participant', 'hang up');
    const type = ended.calls[0]!.call.endReason === 'declined' ? 'call.declined' : 'call.ended';
    return this.announceEnded(ended, type);
  }

  /** Leaves a group call (a member it is still ringing for declines it); the last one out ends it. */
  private async leave(userId: string, row: CallRow): Promise<Call> {
    if (!(await findConversationForMember(this.deps.db, row.conversationId, userId))) throw callNotFound();
    const result = await this.leaveGroupCall(userId, row.id);
    if (result.kind === 'ended') throw conflict('The call has already ended.');
    if (result.kind === 'not-in') return this.declineGroup(userId, row);
    return result.call;
  }

  private async leaveGroupCall(userId: string, callId: string) {
    const result = await this.deps.events.transaction(async (tx) => {
      const locked = await lockCall(tx, callId);
      if (!locked || locked.call.state === 'ended') return { kind: 'ended' as const };
      if (!(await leaveParticipant(tx, callId, userId))) return { kind: 'not-in' as const };
      const empty = await endEmptyGroupCall(tx, callId);
      return { kind: 'left' as const, ended: empty ? await this.logEnded(tx, [empty]) : null };
    });
    if (result.kind !== 'left') return result;
    if (result.ended) {
      const { call, recipients } = result.ended.calls[0]!;
      this.notify(recipients, { type: 'call.left', call, userId });
      this.notify(recipients, { type: 'call.ended', call });
      return { kind: 'left' as const, call };
    }
    const row = await findCall(this.deps.db, callId);
    const call = await this.view(row!);
    this.notify(await memberIds(this.deps.db, call.conversationId), { type: 'call.left', call, userId });
    return { kind: 'left' as const, call };
  }

  /**
   * Relays an SDP offer/answer, an ICE candidate or a media state. `toUserId` names the
   * participant it is for, and only the device they are in the call on receives it. Without it
   * (direct calls only) it goes to the other participant's devices, as it always did.
   */
  async signal(userId: string, callId: string, signal: CallSignal, toUserId?: string) {
    const row = await findCall(this.deps.db, callId);
    if (!row) throw callNotFound();
    const participants = await participantsOf(this.deps.db, [callId]);
    const inCall = (id: string) => participants.find((p) => p.userId === id && p.leftAt === null);
    if (row.kind === 'direct') {
      if (row.callerId !== userId && row.calleeId !== userId) throw callNotFound();
      if (row.state === 'ended') throw conflict('The call has ended.');
      const other = row.callerId === userId ? row.calleeId! : row.callerId;
      if (toUserId !== undefined && toUserId !== other) throw callNotFound();
      const device = toUserId ? inCall(other)?.deviceId : undefined;
      const event: CallSignalEvent = { type: 'signal', callId, fromUserId: userId, signal };
      this.notify([other], device ? { ...event, toDeviceId: device } : event);
      return { ok: true as const };
    }
    if (!inCall(userId)) {
      if (!(await findConversationForMember(this.deps.db, row.conversationId, userId))) throw callNotFound();
      throw conflict(row.state === 'ended' ? 'The call has ended.' : 'You are not in this call.');
    }
    if (row.state === 'ended') throw conflict('The call has ended.');
    if (toUserId === undefined) {
      throw new BadRequest('In a group call, say whom the signal is for (toUserId).');
    }
    const target = toUserId === userId ? undefined : inCall(toUserId);
    if (!target) throw conflict('That person is not in the call.');
    this.notify([toUserId], { type: 'signal', callId, fromUserId: userId, signal, toDeviceId: target.deviceId });
    return { ok: true as const };
  }

  /** A device of someone being called has the call and rings: tells the caller ("Ringing…"). */
  async ringing(userId: string, callId: string) {
    const row = await findCall(this.deps.db, callId);
    const visible =
      row &&
      (row.kind === 'direct'
        ? row.callerId === userId || row.calleeId === userId
        : Boolean(await findConversationForMember(this.deps.db, row.conversationId, userId)));
    if (!row || !visible) throw callNotFound();
    if (row.callerId === userId) {
      throw new Forbidden('Only someone being called can say that it rings.');
    }
    if (row.state === 'ended') throw conflict('The call has already ended.');
    this.notify([row.callerId], { type: 'call.ringing', callId, userId });
    return { ok: true as const };
  }

  /** The conversation's calls, newest first: its call history. */
  async history(userId: string, input: { conversationId: string; before?: string | undefined; limit: number }) {
    if (!(await findConversationForMember(this.deps.db, input.conversationId, userId))) {
      throw new NotFound('Conversation not found.');
    }
    const rows = await callsInConversation(this.deps.db, input.conversationId, input.before, input.limit);
    const participants = await participantsOf(
      this.deps.db,
      rows.map((r) => r.id),
    );
    return rows.map((r) => toCall(r, participants));
  }

  iceServers(userId: string) {
    return iceServersFor(userId, this.deps.config.turn);
  }

  /**
   * The user's call events on one device (`deviceId`, the session). Listens first, then tells
   * this device about calls already ringing for it (it may have connected after the call
   * started), skipping one it hears about live too.
   */
  events(userId: string, deviceId: string): AsyncIterableIterator<CallEvent> {
    const announced = new Set<string>();
    const stream: LiveStream<CallHubEvent, CallEvent> = new LiveStream({
      capacity: 1000,
      catchUp: this.ringingFor(userId, announced),
      step: (event) => {
        if (event.type === 'call.incoming') {
          if (announced.has(event.call.id)) return undefined;
          announced.add(event.call.id);
        }
        if (!('toDeviceId' in event)) return event;
        if (event.toDeviceId !== deviceId) return undefined;
        const { toDeviceId: _device, ...forThisDevice } = event;
        return forThisDevice;
      },
      end: () => stop(),
    });
    const stop = this.deps.hub.listen(userId, (event) => stream.push(event));
    return stream;
  }

  private async *ringingFor(userId: string, announced: Set<string>): AsyncGenerator<CallEvent, void> {
    const ringing = await ringingCallsFor(this.deps.db, userId);
    const participants = await participantsOf(
      this.deps.db,
      ringing.map((r) => r.id),
    );
    for (const row of ringing) {
      announced.add(row.id);
      yield { type: 'call.incoming', call: toCall(row, participants) };
    }
  }

  /** Ends ringing calls past their deadline as missed; a row is won by one instance only. */
  async sweep() {
    try {
      const ended = await this.deps.events.transaction(async (tx) =>
        this.logEnded(tx, await endOverdueRingingCalls(tx)),
      );
      this.announceAll(ended);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'Ring sweep failed; will retry');
    }
  }

  /** Ends the calls of a participant still offline after the grace period, and takes them out of group calls. */
  private async endAbandonedCalls(userId: string) {
    try {
      if ((await this.deps.presence.onlineAmong([userId])).has(userId)) return;
      const ended = await this.deps.events.transaction(async (tx) =>
        this.logEnded(tx, await endCallsAbandonedBy(tx, userId)),
      );
      this.announceAll(ended);
      for (const callId of await liveGroupCallsJoinedBy(this.deps.db, userId))
        await this.leaveGroupCall(userId, callId);
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message, userId }, "Ending an absent participant's calls failed");
    }
  }

  close() {
    clearInterval(this.sweepTimer);
    this.stopWatchingPresence();
    for (const timer of this.goneTimers.values()) clearTimeout(timer);
  }

  private notify(recipients: string[], event: CallHubEvent) {
    this.deps.hub.send([...new Set(recipients)], event);
  }

  private async view(row: CallRow, db: Executor = this.deps.db) {
    return toCall(row, await participantsOf(db, [row.id]));
  }

  /**
   * Inside the transaction that ended `rows`: everyone still in them leaves, and each ended call
   * is logged for its conversation's members (`call.logged`, replayed like messages), published
   * once the transaction commits. Emits go last (see EventLog.emit).
   */
  private async logEnded(tx: Tx, rows: CallRow[]) {
    await closeParticipants(
      tx,
      rows.map((r) => r.id),
    );
    const participants = await participantsOf(
      tx,
      rows.map((r) => r.id),
    );
    const calls: { call: Call; recipients: string[]; members: string[] }[] = [];
    for (const row of rows) {
      const members = await memberIds(tx, row.conversationId);
      const call = toCall(row, participants);
      // Direct calls are told to their two people (as always); group calls to every member.
      const recipients = row.kind === 'direct' ? [row.callerId, row.calleeId!] : members;
      calls.push({ call, recipients, members });
    }
    for (const { call, members } of calls) await this.deps.events.emit(tx, members, { type: 'call.logged', call });
    return { calls };
  }

  private announceEnded(ended: { calls: { call: Call; recipients: string[] }[] }, type: CallStateEvent['type']) {
    const { call, recipients } = ended.calls[0]!;
    this.notify(recipients, { type, call });
    return call;
  }

  private announceAll(ended: { calls: { call: Call; recipients: string[] }[] }) {
    for (const { call, recipients } of ended.calls) this.notify(recipients, { type: 'call.ended', call });
  }

  /** Why a transition updated no row: not the caller's call (NOT_FOUND), wrong role, or wrong state. */
  private async refusal(userId: string, callId: string, role: 'callee' | 'participant', verb: string) {
    const row = await findCall(this.deps.db, callId);
    if (!row || (row.callerId !== userId && row.calleeId !== userId)) return callNotFound();
    if (role === 'callee' && row.calleeId !== userId) {
      return new Forbidden(`Only the person called can ${verb} the call.`);
    }
    if (row.state === 'active') return conflict('The call was already answered.');
    if (row.state === 'ended') return conflict('The call has already ended.');
    return conflict('The call is no longer ringing.');
  }
}
