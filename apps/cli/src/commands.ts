/**
 * What each `parley` command does, on the typed SDK alone (`@parley/client`): an `AppRouter`
 * change that breaks a call here fails this package's typecheck.
 */
import { randomUUID } from 'node:crypto';
import {
  createParleyClient,
  followEvents,
  TRPCClientError,
  type AuthResult,
  type ParleyClient,
  type RouterOutputs,
} from '@parley/client';
import WebSocket from 'ws';
import type { SessionFile, SavedSession } from './session-file.js';

type Conversation = RouterOutputs['conversations']['list']['items'][number];
type Message = RouterOutputs['messages']['list']['items'][number];

/** The terminal, injected so the commands can be driven from tests without spawning. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
}

/** A failure to tell the user in one line, with the exit code (2: usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface CommandContext {
  io: Io;
  sessionFile: SessionFile;
  /** `--server`, else PARLEY_SERVER. */
  server: string | undefined;
  json: boolean;
}

const USER_AGENT = `parley-cli (${process.platform})`;

/** A client on the saved session; every rotation of its tokens is saved at once. */
function connect(ctx: CommandContext, server: string, saved: SavedSession | null) {
  let current = saved;
  const client: ParleyClient = createParleyClient({
    url: server,
    cookies: 'jar',
    initialCookies: saved?.cookies,
    // The `ws` package implements the WebSocket the client needs; its types differ only in extras.
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    headers: { 'user-agent': USER_AGENT },
    onSessionChange: (result) => {
      if (!current || !result) return;
      current = {
        ...current,
        accessToken: result.accessToken,
        accessTokenExpiresAt: result.accessTokenExpiresAt,
        cookies: Object.fromEntries(client.cookieJar ?? []),
      };
      ctx.sessionFile.write(current);
    },
  });
  if (
    saved?.accessToken &&
    saved.accessTokenExpiresAt &&
    Date.parse(saved.accessTokenExpiresAt) > Date.now() + 30_000
  ) {
    client.setSession({ accessToken: saved.accessToken, accessTokenExpiresAt: saved.accessTokenExpiresAt });
  }
  return {
    client,
    /** Starts saving the session that `result` began (after sign-in). */
    adopt(result: AuthResult) {
      current = {
        server,
        userId: result.user.id,
        email: result.user.email,
        displayName: result.user.displayName,
        accessToken: result.accessToken,
        accessTokenExpiresAt: result.accessTokenExpiresAt,
        cookies: Object.fromEntries(client.cookieJar ?? []),
      };
      ctx.sessionFile.write(current);
    },
  };
}

/** The signed-in session's client, or a clear error saying how to sign in. */
async function signedIn(ctx: CommandContext) {
  const saved = ctx.sessionFile.read();
  if (!saved) throw new CliError('Not signed in. Run `parley login <email> --server <url>` first.');
  if (ctx.server && ctx.server.replace(/\/$/, '') !== saved.server.replace(/\/$/, '')) {
    throw new CliError(`Signed in to ${saved.server}, not ${ctx.server}. Run \`parley login\` for that server.`);
  }
  const { client } = connect(ctx, saved.server, saved);
  if (!(await client.getAccessToken())) {
    await client.close();
    ctx.sessionFile.remove();
    throw new CliError('Your session has ended (signed out or expired). Run `parley login` again.');
  }
  return { client, saved };
}

async function withClient<T>(ctx: CommandContext, use: (client: ParleyClient, saved: SavedSession) => Promise<T>) {
  const { client, saved } = await signedIn(ctx);
  try {
    return await use(client, saved);
  } finally {
    await client.close();
  }
}

const print = (ctx: CommandContext, value: unknown, text: () => string) =>
  ctx.io.out(ctx.json ? JSON.stringify(value) : text());

export async function login(ctx: CommandContext, email: string, opts: { passwordStdin: boolean; totp?: string }) {
  const server = ctx.server ?? ctx.sessionFile.read()?.server;
  if (!server) throw new CliError('Which server? Pass --server <url> (or set PARLEY_SERVER).', 2);
  const password = opts.passwordStdin
    ? (await ctx.io.readStdin()).replace(/\r?\n$/, '')
    : await promptHidden('Password: ');
  const { client, adopt } = connect(ctx, server, null);
  try {
    const result = await client.api.auth.login.mutate({ email, password, ...(opts.totp ? { totp: opts.totp } : {}) });
    adopt(result);
    print(
      ctx,
      { user: result.user },
      () => `Signed in to ${server} as ${result.user.displayName} <${result.user.email}>`,
    );
  } finally {
    await client.close();
  }
}

export async function logout(ctx: CommandContext) {
  const saved = ctx.sessionFile.read();
  if (!saved) return print(ctx, { ok: true }, () => 'Not signed in.');
  const { client } = connect(ctx, saved.server, saved);
  try {
    await client.api.auth.logout.mutate();
  } catch (err) {
    // An already-ended session needs no sign-out; anything else is worth telling.
    if (!(err instanceof TRPCClientError && err.data?.code === 'UNAUTHORIZED')) throw err;
  } finally {
    await client.close();
    ctx.sessionFile.remove();
  }
  print(ctx, { ok: true }, () => 'Signed out.');
}

export const whoami = (ctx: CommandContext) =>
  withClient(ctx, async (client, saved) => {
    const me = await client.api.auth.me.query();
    print(ctx, me, () => `${me.displayName} <${me.email}> on ${saved.server}`);
  });

/** Every conversation of the user, newest activity first (all pages). */
async function allConversations(client: ParleyClient) {
  const items: Conversation[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.api.conversations.list.query({ limit: 100, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/** What a person calls a conversation: its title, or the other member's name. */
function conversationName(c: Conversation, myId: string) {
  if (c.title) return c.title;
  return (
    c.members
      .filter((m) => m.id !== myId)
      .map((m) => m.displayName)
      .join(', ') || '(only you)'
  );
}

/** A conversation by id, id prefix (at least 6 characters) or name (case-insensitive). */
async function findConversation(client: ParleyClient, myId: string, ref: string) {
  const all = await allConversations(client);
  const wanted = ref.trim().toLowerCase();
  const byId = all.filter((c) => c.id === wanted || (wanted.length >= 6 && c.id.startsWith(wanted)));
  const matches = byId.length > 0 ? byId : all.filter((c) => conversationName(c, myId).toLowerCase() === wanted);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CliError(`No conversation called "${ref}". \`parley conversations\` lists them.`);
  const names = matches.map((c) => `  ${c.id}  ${conversationName(c, myId)}`).join('\n');
  throw new CliError(`"${ref}" names ${matches.length} conversations; use an id:\n${names}`);
}

export const conversations = (ctx: CommandContext) =>
  withClient(ctx, async (client, saved) => {
    const items = await allConversations(client);
    print(ctx, items, () =>
      items.length === 0
        ? 'No conversations yet.'
        : items
            .map((c) => {
              const unread = c.unreadCount > 0 ? ` (${c.unreadCount} unread)` : '';
              return `${c.id.slice(0, 8)}  ${conversationName(c, saved.userId)}${unread}`;
            })
            .join('\n'),
    );
  });

/** "[16:40] Ada: hello", with names from the conversation's members. */
function messageLine(m: Message, names: Map<string, string>) {
  const at = new Date(m.createdAt);
  const time = at.toISOString().slice(0, 16).replace('T', ' ');
  return `[${time}] ${names.get(m.senderId) ?? 'Someone'}: ${m.body}`;
}

const memberNames = (c: Conversation) => new Map(c.members.map((m) => [m.id, m.displayName]));

export async function history(ctx: CommandContext, ref: string, limit: number) {
  await withClient(ctx, async (client, saved) => {
    const conversation = await findConversation(client, saved.userId, ref);
    const page = await client.api.messages.list.query({ conversationId: conversation.id, limit });
    const names = memberNames(conversation);
    print(ctx, page.items, () =>
      page.items.length === 0 ? 'No messages yet.' : page.items.map((m) => messageLine(m, names)).join('\n'),
    );
  });
}

export async function send(ctx: CommandContext, ref: string, words: string[]) {
  const body = words.length > 0 ? words.join(' ') : (await ctx.io.readStdin()).trimEnd();
  if (!body.trim()) throw new CliError('Nothing to send: give the text as arguments or on standard input.', 2);
  await withClient(ctx, async (client, saved) => {
    const conversation = await findConversation(client, saved.userId, ref);
    // One clientId for this send: should the answer be lost, a retry cannot store it twice.
    const message = await client.api.messages.send.mutate({
      conversationId: conversation.id,
      clientId: randomUUID(),
      body,
    });
    print(ctx, message, () => `Sent (#${message.seq}).`);
  });
}

/**
 * Prints new messages as they arrive (in one conversation, or all of them) until interrupted.
 * The SDK's follower resumes after a dropped connection from the last event seen, so nothing is
 * missed or shown twice; `seq` guards the seam between the history shown first and the live feed.
 */
export async function tail(ctx: CommandContext, ref: string | undefined, backlog: number, signal: AbortSignal) {
  const { client, saved } = await signedIn(ctx);
  try {
    const all = await allConversations(client);
    const only = ref ? await findConversation(client, saved.userId, ref) : null;
    const known = new Map(all.map((c) => [c.id, c]));
    const lastSeq = new Map<string, number>();
    const show = (m: Message) => {
      if ((lastSeq.get(m.conversationId) ?? 0) >= m.seq) return;
      lastSeq.set(m.conversationId, m.seq);
      const c = known.get(m.conversationId);
      const names = c ? memberNames(c) : new Map<string, string>();
      const where = only || !c ? '' : `${conversationName(c, saved.userId)} | `;
      print(ctx, m, () => where + messageLine(m, names));
    };

    const started = new Promise<void>((resolve) => {
      const follower = followEvents(client.api, {
        onStarted: resolve,
        onEvent: (event) => {
          if (event.type === 'conversation.updated') known.set(event.conversation.id, event.conversation);
          if (event.type !== 'message.new') return;
          if (only && event.message.conversationId !== only.id) return;
          show(event.message);
        },
        onError: (err) => ctx.io.err(`parley: ${err instanceof Error ? err.message : String(err)}; reconnecting`),
      });
      signal.addEventListener('abort', () => follower.stop(), { once: true });
    });
    await started;
    // Subscribed first, then the backlog: a message sent in between shows once (seq), not never.
    if (only && backlog > 0) {
      const page = await client.api.messages.list.query({ conversationId: only.id, limit: backlog });
      for (const m of page.items) show(m);
    }
    ctx.io.err(`Following ${only ? conversationName(only, saved.userId) : 'every conversation'}; Ctrl-C to stop.`);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    await client.close();
  }
}

/** Reads a password from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const { stdin, stderr } = process;
  if (!stdin.isTTY) throw new CliError('No terminal to ask for the password: pipe it in with --password-stdin.', 2);
  stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let typed = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          return resolve(typed);
        }
        if (ch === '\u0003') {
          done();
          return reject(new CliError('Cancelled.', 130));
        }
        if (ch === '\u007f') typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}
