/**
 * Access table: every procedure that names a conversation, user or call by id, called by a
 * signed-in user who may not see that resource, answers NOT_FOUND (the same as a resource that
 * does not exist, API.md "Errors") and changes nothing. The table is checked against the router:
 * a procedure with an id-like input field that the table does not cover fails the first test.
 */
import { randomUUID } from 'node:crypto';
import type { ParleyClient } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, signUp, startTestServer, tableCounts, waitFor, wsClientAs, type TestServer } from './helpers.js';
import { fieldsOf, procedures, type AnyProc } from './router-walk.js';

/** Input fields that name a resource someone else may own. */
const ID_FIELDS = [
  'id',
  'userId',
  'userIds',
  'conversationId',
  'callId',
  'memberIds',
  'messageId',
  'replyToId',
  'attachmentId',
  'attachmentIds',
  'avatarAttachmentId',
] as const;
type IdField = (typeof ID_FIELDS)[number];

/** What the attacks aim at: the owner's resources, and ids that exist nowhere. */
interface Fixture {
  group: string;
  direct: string;
  call: string;
  /** A group call between other people (a group the attacker is not in). */
  groupCall: string;
  /** A message in the owner's group. */
  message: string;
  /** A group of the attacker's own, for the cases that attack a user-id field only. */
  ownGroup: string;
  member: string;
  /** A signed-in session of the owner. */
  session: string;
  /** A file the owner sent in the group, and one the owner uploaded there but has not sent. */
  attachment: string;
  unsentAttachment: string;
  /** The attacker. */
  self: string;
  unknown: string;
}

interface Case {
  /** The id field this case attacks. */
  field: IdField;
  target: string;
  input: (f: Fixture) => unknown;
}

const foreignConversation = (input: (conversationId: string, f: Fixture) => unknown): Case[] => [
  { field: 'conversationId', target: "someone else's group", input: (f) => input(f.group, f) },
  { field: 'conversationId', target: "someone else's direct chat", input: (f) => input(f.direct, f) },
  { field: 'conversationId', target: 'a conversation that does not exist', input: (f) => input(f.unknown, f) },
];
const foreignCall = (input: (callId: string) => unknown): Case[] => [
  { field: 'callId', target: 'a call between two other people (ringing)', input: (f) => input(f.call) },
  { field: 'callId', target: 'a group call of other people (active)', input: (f) => input(f.groupCall) },
  { field: 'callId', target: 'a call that does not exist', input: (f) => input(f.unknown) },
];
const foreignMessage = (input: (messageId: string) => unknown): Case[] => [
  { field: 'messageId', target: "a message in someone else's group", input: (f) => input(f.message) },
  { field: 'messageId', target: 'a message that does not exist', input: (f) => input(f.unknown) },
];
const offer = { type: 'offer' as const, sdp: 'v=0' };
const foreignAttachment = (
  input: (attachmentId: string, f: Fixture) => unknown,
  field: IdField = 'attachmentId',
): Case[] => [
  { field, target: "a file sent in someone else's group", input: (f) => input(f.attachment, f) },
  { field, target: "someone else's upload not yet sent", input: (f) => input(f.unsentAttachment, f) },
  { field, target: 'a file that does not exist', input: (f) => input(f.unknown, f) },
];

/**
 * THE table. User ids are the exception: every existing user is public (API.md: users.search finds
 * anyone by name, users.byId returns a PublicUser, anyone may open a direct chat with anyone), so a
 * user id is only NOT_FOUND when no such user exists.
 */
const ACCESS_TABLE: Record<string, Case[]> = {
  'auth.revokeSession': [
    { field: 'id', target: "someone else's session", input: (f) => ({ id: f.session }) },
    { field: 'id', target: 'a session that does not exist', input: (f) => ({ id: f.unknown }) },
  ],
  'auth.passkeys.remove': [
    {
      field: 'id',
      target: "a passkey that does not exist (or is not the caller's)",
      input: (f) => ({ id: f.unknown }),
    },
  ],
  'users.block': [
    {
      field: 'userId',
      target: 'a user that does not exist (existing users are public)',
      input: (f) => ({ userId: f.unknown }),
    },
  ],
  'users.unblock': [
    {
      field: 'userId',
      target: 'a user that does not exist (existing users are public)',
      input: (f) => ({ userId: f.unknown }),
    },
  ],
  'users.updateProfile': foreignAttachment((avatarAttachmentId) => ({ avatarAttachmentId }), 'avatarAttachmentId'),
  'attachments.createUpload': foreignConversation((conversationId) => ({
    conversationId,
    name: 'x.pdf',
    size: 10,
    contentType: 'application/pdf',
  })),
  'attachments.signedUrl': [
    ...foreignAttachment((attachmentId) => ({ attachmentId })),
    ...foreignAttachment((attachmentId) => ({ attachmentId, thumbnail: true })).map((c) => ({
      ...c,
      target: `${c.target} (thumbnail)`,
    })),
  ],
  'users.byId': [
    {
      field: 'id',
      target: 'a user that does not exist (existing users are public)',
      input: (f) => ({ id: f.unknown }),
    },
  ],
  'conversations.byId': [
    { field: 'id', target: "someone else's group", input: (f) => ({ id: f.group }) },
    { field: 'id', target: "someone else's direct chat", input: (f) => ({ id: f.direct }) },
    { field: 'id', target: 'a conversation that does not exist', input: (f) => ({ id: f.unknown }) },
  ],
  'conversations.openDirect': [
    {
      field: 'userId',
      target: 'a user that does not exist (existing users are public)',
      input: (f) => ({ userId: f.unknown }),
    },
  ],
  'conversations.createGroup': [
    {
      field: 'memberIds',
      target: 'a user that does not exist, beside one who does (existing users are public)',
      input: (f) => ({ title: 'Mine', memberIds: [f.member, f.unknown] }),
    },
  ],
  'conversations.addMembers': [
    // The attack that matters: adding oneself to someone else's conversation.
    ...foreignConversation((conversationId, f) => ({ conversationId, userIds: [f.self] })),
    {
      field: 'userIds',
      target: 'a user that does not exist, added to a group of the caller (existing users are public)',
      input: (f) => ({ conversationId: f.ownGroup, userIds: [f.unknown] }),
    },
  ],
  'conversations.rename': foreignConversation((conversationId) => ({ conversationId, title: 'Mine' })),
  'conversations.leave': foreignConversation((conversationId) => ({ conversationId })),
  'conversations.mute': foreignConversation((conversationId) => ({ conversationId, until: null })),
  'conversations.unmute': foreignConversation((conversationId) => ({ conversationId })),
  'messages.list': foreignConversation((conversationId) => ({ conversationId })),
  'messages.send': [
    ...foreignConversation((conversationId) => ({ conversationId, clientId: randomUUID(), body: 'hi' })),
    {
      field: 'replyToId',
      target: "a reply, in the caller's own group, to a message in someone else's group",
      input: (f) => ({ conversationId: f.ownGroup, clientId: randomUUID(), body: 'hi', replyToId: f.message }),
    },
    {
      field: 'replyToId',
      target: 'a reply to a message that does not exist',
      input: (f) => ({ conversationId: f.ownGroup, clientId: randomUUID(), body: 'hi', replyToId: f.unknown }),
    },
    // Files someone else uploaded, named in a conversation of the caller's own.
    ...foreignAttachment(
      (id, f) => ({ conversationId: f.ownGroup, clientId: randomUUID(), body: '', attachmentIds: [id] }),
      'attachmentIds',
    ),
  ],
  'messages.edit': foreignMessage((messageId) => ({ messageId, body: 'mine now' })),
  'messages.delete': foreignMessage((messageId) => ({ messageId })),
  'messages.react': foreignMessage((messageId) => ({ messageId, emoji: '👍' })),
  'messages.unreact': foreignMessage((messageId) => ({ messageId, emoji: '👍' })),
  'messages.search': foreignConversation((conversationId) => ({ query: 'secret', conversationId })),
  'messages.markRead': foreignConversation((conversationId) => ({ conversationId, seq: 1 })),
  'messages.typing': foreignConversation((conversationId) => ({ conversationId })),
  'calls.start': foreignConversation((conversationId) => ({ conversationId, media: 'audio' })),
  'calls.accept': foreignCall((callId) => ({ callId })),
  'calls.decline': foreignCall((callId) => ({ callId })),
  'calls.hangup': foreignCall((callId) => ({ callId })),
  'calls.signal': [
    ...foreignCall((callId) => ({ callId, signal: offer })),
    {
      field: 'callId',
      target: 'a group call of other people, addressed to one of them',
      input: (f) => ({ callId: f.groupCall, toUserId: f.member, signal: offer }),
    },
  ],
  'calls.join': foreignCall((callId) => ({ callId })),
  'calls.ringing': foreignCall((callId) => ({ callId })),
  'calls.history': foreignConversation((conversationId) => ({ conversationId })),
};

const idFieldsOf = (proc: AnyProc) =>
  proc._def.inputs.flatMap(fieldsOf).filter((f): f is IdField => (ID_FIELDS as readonly string[]).includes(f));

describe('the access table', () => {
  it('covers every id-like input field of every procedure of the router', () => {
    const missing: string[] = [];
    for (const [path, proc] of procedures) {
      for (const field of idFieldsOf(proc)) {
        if (!ACCESS_TABLE[path]?.some((c) => c.field === field)) missing.push(`${path} { ${field} }`);
      }
    }
    expect(missing, 'add these to ACCESS_TABLE in access.test.ts').toEqual([]);
    // No stale rows either: each names a procedure that takes that field.
    for (const [path, cases] of Object.entries(ACCESS_TABLE)) {
      const proc = procedures.find(([p]) => p === path)?.[1];
      expect(proc, path).toBeDefined();
      for (const c of cases) expect(idFieldsOf(proc!), `${path} ${c.field}`).toContain(c.field);
    }
    // The walk finds exactly the table's procedures (a broken fieldsOf would fail the check above).
    expect(
      procedures
        .filter(([, p]) => idFieldsOf(p).length > 0)
        .map(([p]) => p)
        .sort(),
    ).toEqual(Object.keys(ACCESS_TABLE).sort());
  });
});

/** Calls `path` with `input` as `client`; resolves to the tRPC error code, or 'no error'. */
async function codeOf(client: ParleyClient, wsClient: ParleyClient, path: string, input: unknown): Promise<string> {
  const type = procedures.find(([p]) => p === path)![1]._def.type;
  const [ns, name] = path.split('.') as [string, string];
  // The client is typed per procedure; the table calls each one generically, with the input it names.
  const api = (type === 'subscription' ? wsClient.api : client.api) as unknown as Record<
    string,
    Record<string, Record<string, (input: unknown, opts?: object) => unknown>>
  >;
  const proc = api[ns]![name]!;
  if (type === 'subscription') {
    let outcome: string | null = null;
    const sub = proc.subscribe!(input, {
      onStarted: () => (outcome = 'no error'),
      onError: (e: { data?: { code?: string } }) => (outcome = e.data?.code ?? String(e)),
    }) as { unsubscribe(): void };
    await waitFor(() => outcome);
    sub.unsubscribe();
    return outcome!;
  }
  try {
    await (proc[type === 'query' ? 'query' : 'mutate']!(input) as Promise<unknown>);
    return 'no error';
  } catch (err) {
    return (err as { data?: { code?: string } }).data?.code ?? `not a tRPC error: ${String(err)}`;
  }
}

describe.each(DB_KINDS)('what a signed-in outsider may not see, on %s', (db) => {
  let t: TestServer;
  let f: Fixture;
  let owner: Awaited<ReturnType<typeof signUp>>;
  let member: Awaited<ReturnType<typeof signUp>>;
  let outsider: Awaited<ReturnType<typeof signUp>>;
  let outsiderWs: ParleyClient;

  beforeAll(async () => {
    // The fixture's calls must still ring when the last row of the table runs, however loaded the machine.
    t = await startTestServer({ db, env: { CALL_RING_TIMEOUT_MS: '600000' } });
    owner = await signUp(t, 'Owner');
    member = await signUp(t, 'Member');
    outsider = await signUp(t, 'Outsider');
    outsiderWs = wsClientAs(t, outsider.accessToken);
    const group = await owner.client.api.conversations.createGroup.mutate({
      title: 'Private',
      memberIds: [member.user.id],
    });
    const direct = await owner.client.api.conversations.openDirect.mutate({ userId: member.user.id });
    const message = await owner.client.api.messages.send.mutate({
      conversationId: group.id,
      clientId: randomUUID(),
      body: 'secret',
    });
    await member.client.api.messages.react.mutate({ messageId: message.id, emoji: '👍' });
    const ownGroup = await outsider.client.api.conversations.createGroup.mutate({
      title: 'Mine',
      memberIds: [owner.user.id],
    });
    const session = (await owner.client.api.auth.sessions.query()).find((s) => s.current)!.id;
    const [g1, g2] = await Promise.all([signUp(t, 'G1'), signUp(t, 'G2')]);
    const theirGroup = await g1.client.api.conversations.createGroup.mutate({
      title: 'Theirs',
      memberIds: [g2.user.id],
    });
    const groupCall = await g1.client.api.calls.start.mutate({ conversationId: theirGroup.id, media: 'audio' });
    await g2.client.api.calls.join.mutate({ callId: groupCall.id });
    const uploadTo = async (conversationId: string) => {
      const slot = await owner.client.api.attachments.createUpload.mutate({
        conversationId,
        name: 'p.png',
        size: 100,
        contentType: 'image/png',
      });
      // A 1×1 PNG.
      const png = Buffer.from(
        'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
        'base64',
      );
      const res = await fetch(`${t.url}${slot.uploadUrl}`, {
        method: 'PUT',
        headers: slot.headers,
        body: new Blob([new Uint8Array(png)]),
      });
      expect(res.status).toBe(200);
      return slot.attachmentId;
    };
    const attachment = await uploadTo(group.id);
    await owner.client.api.messages.send.mutate({
      conversationId: group.id,
      clientId: randomUUID(),
      body: '',
      attachmentIds: [attachment],
    });
    // Uploaded to the group the outsider shares with the owner, so only "whose upload" stops it.
    const unsentAttachment = await uploadTo(ownGroup.id);
    // Started last: it rings for CALL_RING_TIMEOUT_MS, and the table must run within that.
    const call = await owner.client.api.calls.start.mutate({ conversationId: direct.id, media: 'audio' });
    f = {
      group: group.id,
      direct: direct.id,
      call: call.id,
      groupCall: groupCall.id,
      message: message.id,
      ownGroup: ownGroup.id,
      member: member.user.id,
      session,
      attachment,
      unsentAttachment,
      self: outsider.user.id,
      unknown: randomUUID(),
    };
  });
  afterAll(() => t?.close());

  const rows = Object.entries(ACCESS_TABLE).flatMap(([path, cases]) =>
    cases.map((c) => [path, c.field, c.target, c] as const),
  );

  it.each(rows)('%s { %s: %s } answers NOT_FOUND and changes nothing', async (path, _field, _target, c) => {
    const before = await tableCounts(t);
    expect(await codeOf(outsider.client, outsiderWs, path, c.input(f))).toBe('NOT_FOUND');
    expect(await tableCounts(t)).toEqual(before);
  });

  it("left the owner's resources as they were", async () => {
    expect((await owner.client.api.auth.sessions.query()).map((s) => s.id)).toEqual([f.session]);
    const group = await owner.client.api.conversations.byId.query({ id: f.group });
    expect(group.title).toBe('Private');
    expect(group.members.map((m) => m.id).sort()).toEqual([owner.user.id, member.user.id].sort());
    const [message, withFile] = (await owner.client.api.messages.list.query({ conversationId: f.group })).items;
    expect(message).toMatchObject({
      body: 'secret',
      editedAt: null,
      deletedAt: null,
      reactions: [{ emoji: '👍', userIds: [f.member] }],
    });
    // And no search of the outsider's finds it.
    expect((await outsider.client.api.messages.search.query({ query: 'secret' })).items).toEqual([]);
    expect(withFile!.attachments.map((a) => a.id)).toEqual([f.attachment]);
    expect((await owner.client.api.conversations.byId.query({ id: f.direct })).members).toHaveLength(2);
    // Still ringing: the callee can answer it.
    expect((await member.client.api.calls.accept.mutate({ callId: f.call })).state).toBe('active');
  });
});
