/** The client reducer without a browser or a server: pure events in, state out. */
import type { Conversation, Message } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { applyEvent, initialState, typingIn, type ClientState } from '../src/state.js';

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
const withConv = (): ClientState => ({ ...applyEvent(initialState(ME), { type: 'conversation.updated', conversation: conv() }), threads: { [C]: [] } });

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
    s = applyEvent(s, { type: 'conversation.updated', conversation: conv({ title: 'renamed', lastMessage: msg(3, X, 't3') }) });
    expect(s.conversations[C]).toMatchObject({ title: 'renamed', lastMessage: { seq: 4 } });
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
});
