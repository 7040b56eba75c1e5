/**
 * A group's timeline entries (created, renamed, added, left): stored with who did it, placed among
 * the messages, delivered live as `group.changed` and loaded with the messages by `messages.list`
 * (so a device that was not there, or a member added later, sees them too).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, signUp, startTestServer, type TestServer } from './helpers.js';

describe.each(DB_KINDS)('group timeline on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db });
  });
  afterAll(() => t?.close());

  it('records who did what, where among the messages, and pages it with them', async () => {
    const [a, b, c] = [await signUp(t, 'Ada'), await signUp(t, 'Bob'), await signUp(t, 'Cy')];
    const send = (who: typeof a, conversationId: string, body: string) =>
      who.client.api.messages.send.mutate({ conversationId, clientId: randomUUID(), body });
    const group = await a.client.api.conversations.createGroup.mutate({ title: 'Team', memberIds: [b.user.id] });
    await send(a, group.id, 'one');
    await send(b, group.id, 'two');
    await b.client.api.conversations.rename.mutate({ conversationId: group.id, title: 'Crew' });
    await a.client.api.conversations.addMembers.mutate({ conversationId: group.id, userIds: [c.user.id, b.user.id] });
    await send(c, group.id, 'three');
    await c.client.api.conversations.leave.mutate({ conversationId: group.id });

    const all = await a.client.api.messages.list.query({ conversationId: group.id });
    expect(all.items.map((m) => m.body)).toEqual(['one', 'two', 'three']);
    expect(
      all.groupChanges.map(({ kind, actorId, userIds, title, afterSeq }) => ({
        kind,
        actorId,
        userIds,
        title,
        afterSeq,
      })),
    ).toEqual([
      { kind: 'created', actorId: a.user.id, userIds: [b.user.id], title: 'Team', afterSeq: 0 },
      { kind: 'renamed', actorId: b.user.id, userIds: [], title: 'Crew', afterSeq: 2 },
      // Only who was new is named (Bob was a member already).
      { kind: 'added', actorId: a.user.id, userIds: [c.user.id], title: null, afterSeq: 2 },
      { kind: 'left', actorId: c.user.id, userIds: [c.user.id], title: null, afterSeq: 3 },
    ]);

    // Pages: an entry goes with the page holding the message before it; the oldest page takes
    // those before the first message, the newest those after the last.
    const newest = await a.client.api.messages.list.query({ conversationId: group.id, limit: 1 });
    expect(newest.groupChanges.map((x) => x.kind)).toEqual(['left']);
    const middle = await a.client.api.messages.list.query({ conversationId: group.id, beforeSeq: 3, limit: 1 });
    expect(middle.groupChanges.map((x) => x.kind)).toEqual(['renamed', 'added']);
    const oldest = await a.client.api.messages.list.query({ conversationId: group.id, beforeSeq: 2, limit: 1 });
    expect(oldest.hasMore).toBe(false);
    expect(oldest.groupChanges.map((x) => x.kind)).toEqual(['created']);
    const forward = await a.client.api.messages.list.query({ conversationId: group.id, afterSeq: 1, limit: 1 });
    expect(forward.groupChanges.map((x) => x.kind)).toEqual(['renamed', 'added']);
    const fromStart = await a.client.api.messages.list.query({ conversationId: group.id, afterSeq: 0, limit: 1 });
    expect(fromStart.groupChanges.map((x) => x.kind)).toEqual(['created']);

    // Someone who left sees nothing more; the members see it all, whenever they joined.
    expect((await b.client.api.messages.list.query({ conversationId: group.id })).groupChanges).toEqual(
      all.groupChanges,
    );
    await expect(c.client.api.messages.list.query({ conversationId: group.id })).rejects.toThrow();
    // A chat of two has no such entries.
    const direct = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    expect((await a.client.api.messages.list.query({ conversationId: direct.id })).groupChanges).toEqual([]);
  });
});
