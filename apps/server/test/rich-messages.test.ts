/**
 * Messages, richer (API.md v2): edits, deletes as tombstones, reactions, replies, paging forward,
 * `message.updated` live and replayed, full-text search and people search by any part of a name.
 * Every rule on PGlite and on PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { highlight, positiveTerms } from '@parley/api';
import { followEvents, type ParleyEvent } from '@parley/client';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DB_KINDS,
  errorCode,
  signUp,
  startTestServer,
  tableCounts,
  waitFor,
  wsClientAs,
  type TestServer,
} from './helpers.js';

type Person = Awaited<ReturnType<typeof signUp>>;

function collect(t: TestServer, p: Person, lastEventId: string | null = null) {
  const received: { id: string | null; event: ParleyEvent }[] = [];
  let started = false;
  const follower = followEvents(wsClientAs(t, p.accessToken).api, {
    lastEventId,
    onEvent: (event, id) => received.push({ id, event }),
    onStarted: () => (started = true),
  });
  return { received, follower, started: () => waitFor(() => started) };
}

const updates = (r: { event: ParleyEvent }[]) =>
  r.flatMap((x) => (x.event.type === 'message.updated' ? [x.event.message] : []));

describe.each(DB_KINDS)('rich messages on %s', (db) => {
  let t: TestServer;
  let a: Person;
  let b: Person;
  let outsider: Person;
  let conv: string;
  const send = (p: Person, body: string, extra: { replyToId?: string; conversationId?: string } = {}) =>
    p.client.api.messages.send.mutate({
      conversationId: extra.conversationId ?? conv,
      clientId: randomUUID(),
      body,
      ...extra,
    });

  beforeAll(async () => {
    t = await startTestServer({ db });
    a = await signUp(t, 'Ada Lovelace');
    b = await signUp(t, 'Bob Marley');
    outsider = await signUp(t, 'Olga Outsider');
    conv = (await a.client.api.conversations.openDirect.mutate({ userId: b.user.id })).id;
  });
  afterAll(() => t?.close());

  it('a new message carries the new fields, empty', async () => {
    const m = await send(a, 'plain');
    expect(m).toMatchObject({ editedAt: null, deletedAt: null, replyTo: null, reactions: [] });
    const [listed] = (await b.client.api.messages.list.query({ conversationId: conv, limit: 1 })).items;
    expect(listed).toEqual(m);
  });

  it('edits: the sender only, sets editedAt, never a deleted message; others FORBIDDEN, outsiders NOT_FOUND', async () => {
    const m = await send(a, 'frist');
    const before = await tableCounts(t);
    expect(await errorCode(b.client.api.messages.edit.mutate({ messageId: m.id, body: 'hijack' }))).toBe('FORBIDDEN');
    expect(await errorCode(outsider.client.api.messages.edit.mutate({ messageId: m.id, body: 'hijack' }))).toBe(
      'NOT_FOUND',
    );
    expect(await errorCode(a.client.api.messages.edit.mutate({ messageId: randomUUID(), body: 'x' }))).toBe(
      'NOT_FOUND',
    );
    expect(await errorCode(a.client.api.messages.edit.mutate({ messageId: m.id, body: '   ' }))).toBe('BAD_REQUEST');
    expect(await tableCounts(t)).toEqual(before);
    const edited = await a.client.api.messages.edit.mutate({ messageId: m.id, body: ' first ' });
    expect(edited).toMatchObject({ id: m.id, seq: m.seq, body: 'first', createdAt: m.createdAt });
    expect(edited.editedAt).not.toBeNull();
    const seen = (await b.client.api.messages.list.query({ conversationId: conv })).items.find((x) => x.id === m.id);
    expect(seen?.body).toBe('first');
    await a.client.api.messages.delete.mutate({ messageId: m.id });
    expect(await errorCode(a.client.api.messages.edit.mutate({ messageId: m.id, body: 'back' }))).toBe('CONFLICT');
  });

  it('deletes for everyone: a tombstone that keeps its seq, body and reactions erased; the sender only', async () => {
    const m = await send(a, 'oops, wrong chat');
    await b.client.api.messages.react.mutate({ messageId: m.id, emoji: '😮' });
    const after = await send(b, 'after it');
    expect(await errorCode(b.client.api.messages.delete.mutate({ messageId: m.id }))).toBe('FORBIDDEN');
    expect(await errorCode(outsider.client.api.messages.delete.mutate({ messageId: m.id }))).toBe('NOT_FOUND');
    expect(await a.client.api.messages.delete.mutate({ messageId: m.id })).toEqual({ ok: true });
    // Again: nothing more to do.
    expect(await a.client.api.messages.delete.mutate({ messageId: m.id })).toEqual({ ok: true });
    const items = (await b.client.api.messages.list.query({ conversationId: conv })).items;
    const tomb = items.find((x) => x.id === m.id)!;
    expect(tomb).toMatchObject({ seq: m.seq, body: '', reactions: [] });
    expect(tomb.deletedAt).not.toBeNull();
    expect(items.find((x) => x.id === after.id)!.seq).toBe(m.seq + 1);
    // Nothing of it is left in the database but the tombstone.
    const rows = await t.server.database.db.execute(
      sql`select body, (select count(*)::int from message_reactions where message_id = ${m.id}) as n from messages where id = ${m.id}`,
    );
    const [row] = (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as { body: string; n: number }[];
    expect(row).toEqual({ body: '', n: 0 });
    expect(await errorCode(b.client.api.messages.react.mutate({ messageId: m.id, emoji: '👍' }))).toBe('CONFLICT');
  });

  it('reactions: members only, one emoji grapheme, idempotent, capped per message', async () => {
    const m = await send(a, 'react to me');
    const r1 = await b.client.api.messages.react.mutate({ messageId: m.id, emoji: '👍🏽' });
    expect(r1.reactions).toEqual([{ emoji: '👍🏽', userIds: [b.user.id] }]);
    expect((await b.client.api.messages.react.mutate({ messageId: m.id, emoji: '👍🏽' })).reactions).toEqual(
      r1.reactions,
    );
    const r2 = await a.client.api.messages.react.mutate({ messageId: m.id, emoji: '👍🏽' });
    expect(r2.reactions).toEqual([{ emoji: '👍🏽', userIds: [b.user.id, a.user.id] }]);
    const family = await a.client.api.messages.react.mutate({ messageId: m.id, emoji: '👨‍👩‍👧' });
    expect(family.reactions.map((r) => r.emoji)).toEqual(['👍🏽', '👨‍👩‍👧']);
    const before = await tableCounts(t);
    for (const emoji of ['', 'a', '👍👍', ':)', '<b>', '1', '👍 ', 'x'.repeat(100)]) {
      expect(await errorCode(a.client.api.messages.react.mutate({ messageId: m.id, emoji })), emoji).toBe(
        'BAD_REQUEST',
      );
    }
    expect(await errorCode(outsider.client.api.messages.react.mutate({ messageId: m.id, emoji: '👍' }))).toBe(
      'NOT_FOUND',
    );
    expect(await errorCode(outsider.client.api.messages.unreact.mutate({ messageId: m.id, emoji: '👍🏽' }))).toBe(
      'NOT_FOUND',
    );
    expect(await tableCounts(t)).toEqual(before);
    const un = await b.client.api.messages.unreact.mutate({ messageId: m.id, emoji: '👍🏽' });
    expect(un.reactions[0]).toEqual({ emoji: '👍🏽', userIds: [a.user.id] });
    expect((await b.client.api.messages.unreact.mutate({ messageId: m.id, emoji: '👍🏽' })).reactions).toEqual(
      un.reactions,
    );

    const many = await send(a, 'so many');
    const emojis = [
      '😀',
      '😁',
      '😂',
      '🤣',
      '😃',
      '😄',
      '😅',
      '😆',
      '😉',
      '😊',
      '😋',
      '😎',
      '😍',
      '😘',
      '🥰',
      '😗',
      '😙',
      '🥲',
      '😚',
      '🙂',
    ];
    for (const emoji of emojis) await b.client.api.messages.react.mutate({ messageId: many.id, emoji });
    expect(await errorCode(b.client.api.messages.react.mutate({ messageId: many.id, emoji: '🤗' }))).toBe(
      'BAD_REQUEST',
    );
    // One more person on an emoji already there is fine.
    expect(
      (await a.client.api.messages.react.mutate({ messageId: many.id, emoji: '😀' })).reactions[0]!.userIds,
    ).toHaveLength(2);
  });

  it('replies: same conversation only; the quote follows edits and empties on delete', async () => {
    const original = await send(b, 'What time is the meeting?');
    const reply = await send(a, 'Three', { replyToId: original.id });
    expect(reply.replyTo).toEqual({
      id: original.id,
      seq: original.seq,
      senderId: b.user.id,
      excerpt: 'What time is the meeting?',
    });

    const other = (await a.client.api.conversations.createGroup.mutate({ title: 'Elsewhere', memberIds: [b.user.id] }))
      .id;
    const foreign = await send(outsider, 'not yours', {
      conversationId: (await outsider.client.api.conversations.openDirect.mutate({ userId: a.user.id })).id,
    });
    const before = await tableCounts(t);
    expect(await errorCode(send(a, 'cross', { replyToId: original.id, conversationId: other }))).toBe('NOT_FOUND');
    expect(await errorCode(send(a, 'cross', { replyToId: foreign.id }))).toBe('NOT_FOUND');
    expect(await errorCode(send(a, 'nothing', { replyToId: randomUUID() }))).toBe('NOT_FOUND');
    expect(await tableCounts(t)).toEqual(before);

    await b.client.api.messages.edit.mutate({ messageId: original.id, body: 'What time is the call?' });
    const quoted = async () =>
      (await a.client.api.messages.list.query({ conversationId: conv })).items.find((x) => x.id === reply.id)!.replyTo;
    expect((await quoted())?.excerpt).toBe('What time is the call?');
    await b.client.api.messages.delete.mutate({ messageId: original.id });
    expect(await quoted()).toEqual({ id: original.id, seq: original.seq, senderId: b.user.id, excerpt: null });
    expect(await errorCode(send(a, 'to a tombstone', { replyToId: original.id }))).toBe('NOT_FOUND');
  });

  it('lists forward with afterSeq, and around a message with both bounds', async () => {
    const group = (await a.client.api.conversations.createGroup.mutate({ title: 'Paging', memberIds: [b.user.id] })).id;
    for (let i = 1; i <= 12; i++) await send(a, `m${i}`, { conversationId: group });
    const fwd = await b.client.api.messages.list.query({ conversationId: group, afterSeq: 3, limit: 4 });
    expect(fwd.items.map((m) => m.seq)).toEqual([4, 5, 6, 7]);
    expect(fwd.hasMore).toBe(true);
    const end = await b.client.api.messages.list.query({ conversationId: group, afterSeq: 9, limit: 4 });
    expect(end.items.map((m) => m.seq)).toEqual([10, 11, 12]);
    expect(end.hasMore).toBe(false);
    const between = await b.client.api.messages.list.query({ conversationId: group, afterSeq: 2, beforeSeq: 6 });
    expect(between.items.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(
      (await b.client.api.messages.list.query({ conversationId: group, beforeSeq: 4 })).items.map((m) => m.seq),
    ).toEqual([1, 2, 3]);
    expect(await errorCode(b.client.api.messages.list.query({ conversationId: group, afterSeq: -1 }))).toBe(
      'BAD_REQUEST',
    );
  });

  it('message.updated reaches every member live, and is replayed after a reconnect', async () => {
    const m = await send(a, 'watch this');
    const live = collect(t, b);
    await live.started();
    await a.client.api.messages.edit.mutate({ messageId: m.id, body: 'watch this!' });
    await b.client.api.messages.react.mutate({ messageId: m.id, emoji: '🎉' });
    await waitFor(() => updates(live.received).length >= 2);
    const cursor = live.received.at(-1)!.id;
    live.follower.stop();
    // While b is away: a deletes it.
    await a.client.api.messages.delete.mutate({ messageId: m.id });
    const resumed = collect(t, b, cursor);
    await waitFor(() => updates(resumed.received).length >= 1);
    resumed.follower.stop();
    const seen = [...updates(live.received), ...updates(resumed.received)];
    expect(seen.map((x) => [x.body, x.reactions.map((r) => r.emoji), x.deletedAt !== null])).toEqual([
      ['watch this!', [], false],
      ['watch this!', ['🎉'], false],
      ['', [], true],
    ]);
    // The outsider's stream never carries them: by the time a member's stream has the next one,
    // the outsider's (subscribed earlier) has nothing.
    const theirs = collect(t, outsider);
    const member = collect(t, b);
    await Promise.all([theirs.started(), member.started()]);
    const x = await send(a, 'x');
    await a.client.api.messages.react.mutate({ messageId: x.id, emoji: '👀' });
    await waitFor(() => updates(member.received).some((u) => u.id === x.id));
    theirs.follower.stop();
    member.follower.stop();
    expect(theirs.received).toEqual([]);
  });

  describe('search', () => {
    let g: string;
    let secret: string;
    beforeAll(async () => {
      g = (await a.client.api.conversations.createGroup.mutate({ title: 'Search', memberIds: [b.user.id] })).id;
      const bodies = [
        'Meetings are moved to Thursday',
        'The quarterly meeting notes are ready',
        'Will you bring the projector?',
        'Grüße aus München, Jürgen',
        'deploy the release tonight',
        'release notes: nothing about deploys',
      ];
      for (const body of bodies) await send(a, body, { conversationId: g });
      // Someone else's conversation holds the same words.
      const c = await signUp(t, 'Carla');
      const theirs = (await outsider.client.api.conversations.openDirect.mutate({ userId: c.user.id })).id;
      secret = (await send(outsider, 'secret meeting and release plans', { conversationId: theirs })).id;
    });
    const search = (
      p: Person,
      query: string,
      extra: { limit?: number; cursor?: string | null; conversationId?: string } = {},
    ) => p.client.api.messages.search.query({ query, conversationId: g, ...extra });
    const bodies = async (p: Person, query: string) => (await search(p, query)).items.map((i) => i.message.body);

    it('stems English words, keeps names, non-English words and stop words findable, newest first', async () => {
      expect(await bodies(b, 'meeting')).toEqual([
        'The quarterly meeting notes are ready',
        'Meetings are moved to Thursday',
      ]);
      expect(await bodies(b, 'Will')).toEqual(['Will you bring the projector?']);
      expect(await bodies(b, 'jürgen')).toEqual(['Grüße aus München, Jürgen']);
      expect(await bodies(b, 'münchen')).toEqual(['Grüße aus München, Jürgen']);
    });

    it('speaks websearch syntax: phrases, -exclusions, or; any other text never fails', async () => {
      expect(await bodies(b, '"meeting notes"')).toEqual(['The quarterly meeting notes are ready']);
      expect(await bodies(b, 'release -nothing')).toEqual(['deploy the release tonight']);
      expect(await bodies(b, 'thursday or projector')).toEqual([
        'Will you bring the projector?',
        'Meetings are moved to Thursday',
      ]);
      for (const q of ['"', '-', '!!! ))(', "' or 1=1 --", 'the', ':*', '&|!<->']) {
        expect(
          (await search(b, q)).items.map((i) => i.message.conversationId).every((id) => id === g),
          q,
        ).toBe(true);
      }
      expect(await errorCode(search(b, '   '))).toBe('BAD_REQUEST');
      expect(await errorCode(search(b, 'meeting', { cursor: 'garbage' }))).toBe('BAD_REQUEST');
      const bad = Buffer.from(JSON.stringify(['2026-02-31T00:00:00.000000Z', randomUUID()])).toString('base64url');
      expect(await errorCode(search(b, 'meeting', { cursor: bad }))).toBe('BAD_REQUEST');
    });

    it('marks the matched words in a plain-text snippet', async () => {
      const [hit] = (await search(b, 'meetings')).items;
      expect(hit!.snippet).toBe('The quarterly meeting notes are ready');
      expect(hit!.marks.map(([s, e]) => hit!.snippet.slice(s, e))).toEqual(['meeting']);
      const long = await send(a, `${'filler '.repeat(60)}<b>needle</b> ${'tail '.repeat(40)}`, { conversationId: g });
      const [far] = (await search(b, 'needle')).items;
      expect(far!.message.id).toBe(long.id);
      expect(far!.snippet.length).toBeLessThanOrEqual(162);
      expect(far!.snippet.startsWith('…')).toBe(true);
      expect(far!.snippet).toContain('<b>needle</b>');
      expect(far!.marks.map(([s, e]) => far!.snippet.slice(s, e))).toEqual(['needle']);
    });

    it("pages newest first with a cursor, in the caller's conversations only, never deleted messages", async () => {
      const all = (await b.client.api.messages.search.query({ query: 'meeting or release or deploy' })).items;
      expect(all.map((i) => i.message.id)).not.toContain(secret);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof search>> = await b.client.api.messages.search.query({
          query: 'meeting or release or deploy',
          limit: 2,
          cursor,
        });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items.map((i) => i.message.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all.map((i) => i.message.id));
      expect(new Set(seen).size).toBe(seen.length);
      const created = all.map((i) => i.message.createdAt);
      expect([...created].sort().reverse()).toEqual(created);

      expect(
        (await outsider.client.api.messages.search.query({ query: 'meeting' })).items.map((i) => i.message.id),
      ).toEqual([secret]);
      expect(await errorCode(outsider.client.api.messages.search.query({ query: 'meeting', conversationId: g }))).toBe(
        'NOT_FOUND',
      );

      const doomed = await send(a, 'zanzibar holiday', { conversationId: g });
      expect(await bodies(b, 'zanzibar')).toEqual(['zanzibar holiday']);
      await a.client.api.messages.delete.mutate({ messageId: doomed.id });
      expect(await bodies(b, 'zanzibar')).toEqual([]);
      const edited = await send(a, 'kilimanjaro', { conversationId: g });
      await a.client.api.messages.edit.mutate({ messageId: edited.id, body: 'serengeti' });
      expect(await bodies(b, 'kilimanjaro')).toEqual([]);
      expect(await bodies(b, 'serengeti')).toEqual(['serengeti']);
    });

    // A handful of rows would be scanned anyway: with sequential scans off, the plan shows the index exists and fits the query.
    it('has a GIN index that the search predicate can use', async () => {
      const plan = await t.server.database.db.transaction(async (tx) => {
        await tx.execute(sql`set local enable_seqscan = off`);
        return tx.execute(
          sql`explain select id from messages where search @@ (websearch_to_tsquery('english'::regconfig, 'meeting') || websearch_to_tsquery('simple'::regconfig, 'meeting'))`,
        );
      });
      expect(JSON.stringify(plan)).toContain('messages_search_idx');
    });
  });

  it('people search finds a name by any word or substring, never the caller, never by a partial email', async () => {
    const names = (q: string) => a.client.api.users.search.query({ query: q }).then((r) => r.map((u) => u.displayName));
    expect(await names('marley')).toEqual(['Bob Marley']);
    expect(await names('arle')).toEqual(['Bob Marley']);
    expect(await names('OUTSIDER')).toEqual(['Olga Outsider']);
    expect(await names('lovelace')).toEqual([]);
    expect(await names('100%')).toEqual([]);
    expect(await names(b.email.slice(0, 6))).toEqual([]);
    expect(await names(b.email.toUpperCase())).toEqual(['Bob Marley']);
  });
});

describe('search highlighting (unit)', () => {
  it('reads the positive terms of a websearch query', () => {
    expect(positiveTerms('meeting -notes "big plan" or -"not this" x-ray')).toEqual([
      'meeting',
      'big',
      'plan',
      'x',
      'ray',
    ]);
  });
  it('marks words sharing a lexeme, as offsets into the snippet', () => {
    const lex = new Map([
      ['meetings', { english: ['meet'], simple: ['meetings'] }],
      ['meeting', { english: ['meet'], simple: ['meeting'] }],
      ['will', { english: [], simple: ['will'] }],
      ['the', { english: [], simple: ['the'] }],
    ]);
    expect(highlight('The Meetings, will', ['meeting'], lex)).toEqual({
      snippet: 'The Meetings, will',
      marks: [[4, 12]],
    });
    expect(highlight('The Meetings, will', ['Will'], lex).marks).toEqual([[14, 18]]);
  });
});
