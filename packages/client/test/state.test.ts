/** The client reducer without a browser or a server: pure events in, state out. */
import type { Conversation, Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import {
  applyEvent,
  dropConversation,
  endTyping,
  initialState,
  putConversation,
  putHistory,
  typingIn,
  type ClientState,
} from '../src/state.js';

const ME = 'me';
const X = 'x';
const C = 'c1';
const msg = (seq: number, senderId: string, createdAt: string): Message => ({
  id: `m${seq}`,
  conversationId: C,
  senderId,
  clientId: `k${seq}`,
  seq,
  body: `body ${seq}`,
  createdAt,
  editedAt: null,
  deletedAt: null,
  replyTo: null,
  reactions: [],
  attachments: [],
});
const conv = (over: Partial<Conversation> = {}): Conversation => ({
  id: C,
  kind: 'direct',
  title: null,
  members: [ME, X].map((id) => ({ id, displayName: id, about: '', online: false, lastSeenAt: null, avatarUrl: null })),
  lastMessage: null,
  unreadCount: 0,
  lastReadSeq: 0,
  memberReads: [],
  updatedAt: '2026-01-01T00:00:00.000Z',
  mutedUntil: null,
  ...over,
});
const withConv = (): ClientState => ({
  ...applyEvent(initialState(ME), { type: 'conversation.updated', conversation: conv() }),
  threads: { [C]: [] },
});

describe('applyEvent', () => {
  it('adds messages once, in seq order, and counts unread from others only', () => {
    let s = withConv();
    s = applyEvent(s, { type: 'message.new', message: msg(2, X, 't2') });
    s = applyEvent(s, { type: 'message.new', message: msg(1, X, 't1') });
    s = applyEvent(s, { type: 'message.new', message: msg(2, X, 't2') });
    expect(s.threads[C]!.map((m) => m.seq)).toEqual([1, 2]);
    expect(s.conversations[C]!.lastMessage?.seq).toBe(2);
    // Seq 1 arrived after 2: not newer than the last message, not counted again.
    expect(s.conversations[C]!.unreadCount).toBe(1);
    s = applyEvent(s, { type: 'message.new', message: msg(3, ME, 't3') });
    expect(s.conversations[C]).toMatchObject({ unreadCount: 0, lastReadSeq: 3 });
  });

  it('a message from X ends X typing at once', () => {
    let s = withConv();
    s = applyEvent(s, { type: 'typing', conversationId: C, userId: X, at: '2026-01-01T00:00:01.000Z' });
    expect(typingIn(s, C, Date.parse('2026-01-01T00:00:02.000Z'))).toEqual([X]);
    s = applyEvent(s, { type: 'message.new', message: msg(1, X, '2026-01-01T00:00:02.000Z') });
    expect(typingIn(s, C, Date.parse('2026-01-01T00:00:02.000Z'))).toEqual([]);
  });

  it('ignores a typing notice older than X last message, whatever order they arrive in', () => {
    let s = withConv();
    s = applyEvent(s, { type: 'message.new', message: msg(1, X, '2026-01-01T00:00:05.000Z') });
    const late = applyEvent(s, { type: 'typing', conversationId: C, userId: X, at: '2026-01-01T00:00:04.000Z' });
    expect(late).toBe(s);
    const fresh = applyEvent(s, { type: 'typing', conversationId: C, userId: X, at: '2026-01-01T00:00:06.000Z' });
    expect(typingIn(fresh, C, Date.parse('2026-01-01T00:00:06.500Z'))).toEqual([X]);
    // Own typing never shows.
    expect(applyEvent(s, { type: 'typing', conversationId: C, userId: ME, at: '2026-01-01T00:00:09.000Z' })).toBe(s);
  });

  it('keeps read receipts moving forward only, own reads lower the unread count', () => {
    let s = withConv();
    for (const n of [1, 2, 3]) s = applyEvent(s, { type: 'message.new', message: msg(n, X, `t${n}`) });
    s = applyEvent(s, { type: 'message.read', conversationId: C, userId: X, seq: 2 });
    s = applyEvent(s, { type: 'message.read', conversationId: C, userId: X, seq: 1 });
    expect(s.reads[C]).toEqual({ [X]: 2 });
    s = applyEvent(s, { type: 'message.read', conversationId: C, userId: ME, seq: 2 });
    expect(s.conversations[C]).toMatchObject({ lastReadSeq: 2, unreadCount: 1 });
  });

  it('drops a conversation the user left, and keeps a newer last message over an older snapshot', () => {
    let s = withConv();
    s = applyEvent(s, { type: 'message.new', message: msg(4, X, 't4') });
    s = applyEvent(s, {
      type: 'conversation.updated',
      conversation: conv({ title: 'renamed', lastMessage: msg(3, X, 't3') }),
    });
    expect(s.conversations[C]).toMatchObject({ title: 'renamed', lastMessage: { seq: 4 }, unreadCount: 1 });
    s = applyEvent(s, { type: 'conversation.updated', conversation: conv({ members: [] }) });
    expect(s.conversations[C]).toBeUndefined();
    expect(s.removed[C]).toBe(true);
  });

  it('replaces an edited message in place and tracks presence', () => {
    let s = withConv();
    s = applyEvent(s, { type: 'message.new', message: msg(1, X, 't1') });
    s = applyEvent(s, { type: 'message.updated', message: { ...msg(1, X, 't1'), body: 'edited', editedAt: 't9' } });
    expect(s.threads[C]!.map((m) => m.body)).toEqual(['edited']);
    expect(s.conversations[C]!.lastMessage?.body).toBe('edited');
    s = applyEvent(s, { type: 'snapshot', users: [{ userId: X, online: true, lastSeenAt: null }] });
    s = applyEvent(s, { type: 'update', userId: X, online: false, lastSeenAt: 't10' });
    expect(s.presence[X]).toEqual({ online: false, lastSeenAt: 't10' });
  });

  it('changes only messages the thread holds, and the quotes of replies to them', () => {
    let s = putHistory(withConv(), C, [
      msg(5, X, 't5'),
      { ...msg(6, ME, 't6'), replyTo: { id: 'm5', seq: 5, senderId: X, excerpt: 'body 5' } },
    ]);
    // An edit of a message outside the loaded pages does not slip into the thread.
    const outside = applyEvent(s, { type: 'message.updated', message: { ...msg(2, X, 't2'), body: 'old, edited' } });
    expect(outside).toBe(s);
    s = applyEvent(s, { type: 'message.updated', message: { ...msg(5, X, 't5'), body: 'edited', editedAt: 't7' } });
    expect(s.threads[C]!.map((m) => [m.body, m.replyTo?.excerpt ?? null])).toEqual([
      ['edited', null],
      ['body 6', 'edited'],
    ]);
    s = applyEvent(s, { type: 'message.updated', message: { ...msg(5, X, 't5'), body: '', deletedAt: 't8' } });
    expect(s.threads[C]![1]!.replyTo?.excerpt).toBeNull();
  });

  it('a window around an older message takes no new messages until it reaches the newest again', () => {
    let s = putHistory(withConv(), C, [msg(10, X, 't10'), msg(11, X, 't11')], { replace: true, window: true });
    s = applyEvent(s, { type: 'message.new', message: msg(40, X, 't40') });
    expect(s.threads[C]!.map((m) => m.seq)).toEqual([10, 11]);
    // The list still learns of it.
    expect(s.conversations[C]).toMatchObject({ lastMessage: { seq: 40 }, unreadCount: 1 });
    // Pages below the window merge into it; the newest page replaces it and new messages append again.
    s = putHistory(s, C, [msg(12, X, 't12')]);
    expect(s.threads[C]!.map((m) => m.seq)).toEqual([10, 11, 12]);
    expect(s.windows[C]).toBe(true);
    s = putHistory(s, C, [msg(39, X, 't39'), msg(40, X, 't40')], { replace: true, window: false });
    s = applyEvent(s, { type: 'message.new', message: msg(41, X, 't41') });
    expect(s.threads[C]!.map((m) => m.seq)).toEqual([39, 40, 41]);
    expect(s.windows[C]).toBeUndefined();
  });

  it('history and conversations from queries count as seen messages for stale typing', () => {
    let s = putHistory(withConv(), C, [msg(1, X, '2026-01-01T00:00:05.000Z')]);
    expect(applyEvent(s, { type: 'typing', conversationId: C, userId: X, at: '2026-01-01T00:00:04.000Z' })).toBe(s);
    s = putConversation(initialState(ME), conv({ lastMessage: msg(2, X, '2026-01-01T00:00:09.000Z') }));
    expect(applyEvent(s, { type: 'typing', conversationId: C, userId: X, at: '2026-01-01T00:00:08.000Z' })).toBe(s);
  });

  it('a typing notice ends when its timer runs out, unless a newer one came', () => {
    let s = applyEvent(withConv(), { type: 'typing', conversationId: C, userId: X, at: 't1' });
    const renewed = applyEvent(s, { type: 'typing', conversationId: C, userId: X, at: 't2' });
    expect(endTyping(renewed, C, X, 't1')).toBe(renewed);
    s = endTyping(renewed, C, X, 't2');
    expect(s.typing[C]).toEqual({});
  });

  it('a conversation from a query brings read positions, which never move back; a dropped one is marked removed', () => {
    let s = putConversation(
      initialState(ME),
      conv({
        memberReads: [
          { userId: X, lastReadSeq: 4 },
          { userId: ME, lastReadSeq: 9 },
        ],
      }),
    );
    expect(s.reads[C]).toEqual({ [X]: 4 });
    s = putConversation(s, conv({ memberReads: [{ userId: X, lastReadSeq: 2 }] }));
    expect(s.reads[C]).toEqual({ [X]: 4 });
    s = dropConversation(putHistory(s, C, [msg(1, X, 't1')]), C);
    expect(s.conversations[C]).toBeUndefined();
    expect(s.threads[C]).toBeUndefined();
    expect(s.removed[C]).toBe(true);
    expect(putConversation(s, conv()).removed[C]).toBeUndefined();
  });

  it('keeps a group timeline with the held thread, in timeline order, not in a window', () => {
    const change = (id: string, afterSeq: number, createdAt: string) => ({
      id,
      conversationId: C,
      kind: 'renamed' as const,
      actorId: X,
      userIds: [],
      names: { [X]: 'x' },
      title: id,
      afterSeq,
      createdAt,
    });
    // Not held: nothing to keep it in (the thread's first page brings it).
    expect(
      applyEvent(initialState(ME), { type: 'group.changed', change: change('a', 0, 't1') }).changes[C],
    ).toBeUndefined();
    let s = putHistory(withConv(), C, [msg(1, X, 't1')], { changes: [change('b', 1, 't3')] });
    s = applyEvent(s, { type: 'group.changed', change: change('c', 1, 't4') });
    s = putHistory(s, C, [], { changes: [change('a', 0, 't0'), change('b', 1, 't3')] });
    expect(s.changes[C]!.map((x) => x.id)).toEqual(['a', 'b', 'c']);
    s = putHistory(s, C, [msg(1, X, 't1')], { replace: true, window: true, changes: [] });
    expect(applyEvent(s, { type: 'group.changed', change: change('d', 5, 't9') })).toBe(s);
    expect(dropConversation(s, C).changes[C]).toBeUndefined();
  });
});
