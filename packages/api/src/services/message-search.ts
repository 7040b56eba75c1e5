import { findConversationForMember, lexemesOf, searchMessages, type Db, type SearchCursor } from '@parley/db';
import type { Message } from '../presenters.js';
import { notFound } from './conversations.js';
import { presentMessages } from './message-view.js';
import { BadRequest } from '../errors.js';

export interface SearchHit {
  message: Message;
  snippet: string;
  /** [start, end) offsets (UTF-16 code units, as JavaScript strings count) of the matched words in `snippet`. */
  marks: [number, number][];
}

/** Characters of context a snippet shows around its first hit, at most. */
const SNIPPET_LENGTH = 160;
const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * The words a hit should show as matched: those of the query that are not excluded (`-word`,
 * `-"a phrase"`) and not the `or` operator, as websearch_to_tsquery reads them.
 */
export function positiveTerms(query: string): string[] {
  const terms: string[] = [];
  for (const m of query.matchAll(/(-?)"([^"]*)"?|(-?)(\S+)/g)) {
    const negated = (m[1] ?? m[3]) === '-';
    const text = m[2] ?? m[4] ?? '';
    if (negated || (m[4] !== undefined && text.toLowerCase() === 'or')) continue;
    for (const w of text.matchAll(WORD)) terms.push(w[0]);
  }
  return terms;
}

type Lexemes = Map<string, { english: string[]; simple: string[] }>;

/**
 * A plain-text snippet of `body` around its first matched word, and where the matched words are in
 * it. A word matches when it shares a lexeme with a query term in either search configuration,
 * which is how the search itself matched it. No markup is produced or parsed.
 */
export function highlight(
  body: string,
  terms: string[],
  lexemes: Lexemes,
): { snippet: string; marks: [number, number][] } {
  const english = new Set(terms.flatMap((t) => lexemes.get(t.toLowerCase())?.english ?? []));
  const simple = new Set(terms.flatMap((t) => lexemes.get(t.toLowerCase())?.simple ?? []));
  const hits: [number, number][] = [];
  for (const w of body.matchAll(WORD)) {
    const lex = lexemes.get(w[0].toLowerCase());
    if (lex && (lex.english.some((l) => english.has(l)) || lex.simple.some((l) => simple.has(l)))) {
      hits.push([w.index, w.index + w[0].length]);
    }
  }
  if (body.length <= SNIPPET_LENGTH) return { snippet: body, marks: hits };
  // A window that starts a little before the first hit, on a word boundary where possible.
  const first = hits[0]?.[0] ?? 0;
  let start = Math.max(0, first - 40);
  if (start > 0) {
    const space = body.lastIndexOf(' ', start);
    if (space >= 0 && first - space < 60) start = space + 1;
  }
  let end = Math.min(body.length, start + SNIPPET_LENGTH);
  // Never cut a surrogate pair in half.
  if (start > 0 && /[\uDC00-\uDFFF]/.test(body[start]!)) start--;
  if (end < body.length && /[\uDC00-\uDFFF]/.test(body[end]!)) end++;
  const prefix = start > 0 ? '…' : '';
  const snippet = prefix + body.slice(start, end) + (end < body.length ? '…' : '');
  const shift = prefix.length - start;
  const marks = hits
    .filter(([s, e]) => s >= start && e <= end)
    .map(([s, e]): [number, number] => [s + shift, e + shift]);
  return { snippet, marks };
}

export class MessageSearchService {
  constructor(private readonly deps: { db: Db }) {}

  async search(
    userId: string,
    input: { query: string; conversationId?: string | undefined; limit: number; cursor?: string | null | undefined },
  ): Promise<{ items: SearchHit[]; nextCursor: string | null }> {
    if (input.conversationId && !(await findConversationForMember(this.deps.db, input.conversationId, userId))) {
      throw notFound();
    }
    const page = await searchMessages(this.deps.db, {
      userId,
      query: input.query,
      conversationId: input.conversationId,
      limit: input.limit,
      cursor: input.cursor ? decodeCursor(input.cursor) : null,
    });
    const messages = await presentMessages(this.deps.db, page.items);
    const terms = positiveTerms(input.query);
    const words = new Set(terms.map((t) => t.toLowerCase()));
    for (const m of messages) for (const w of m.body.matchAll(WORD)) words.add(w[0].toLowerCase());
    const lexemes = await lexemesOf(this.deps.db, [...words]);
    return {
      items: messages.map((message) => ({ message, ...highlight(message.body, terms, lexemes) })),
      nextCursor: page.next ? encodeCursor(page.next) : null,
    };
  }
}

function encodeCursor(c: SearchCursor) {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}

function decodeCursor(cursor: string): SearchCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (
      typeof createdAt === 'string' &&
      typeof id === 'string' &&
      /^[1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(createdAt) &&
      // A real calendar time (Date would roll 02-31 over to March; PostgreSQL would refuse it).
      new Date(createdAt).toISOString().slice(0, 19) === createdAt.slice(0, 19) &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
    ) {
      return { createdAt, id };
    }
  } catch {
    // falls through to the one answer for every bad cursor
  }
  throw new BadRequest('Not a search cursor.');
}
