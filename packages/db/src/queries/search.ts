/** Full-text search over messages, and the lexemes that say which words of a hit matched. */
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { members, messages } from '../schema.js';
import { messageColumns } from './messages.js';

export interface SearchCursor {
  /** created_at in UTC with its microseconds (2026-12-01T16:30:00.123456Z), so no precision is lost between pages. */
  createdAt: string;
  id: string;
}

/**
 * The query in both configurations of the search column, OR-ed: English stems, and the words as
 * written (names, other languages, English stop words). `websearch_to_tsquery` never fails on
 * user input: words, "phrases", -exclusions and `or` are its syntax, anything else is ignored.
 */
const tsquery = (query: string) =>
  sql`(websearch_to_tsquery('english'::regconfig, ${query}) || websearch_to_tsquery('simple'::regconfig, ${query}))`;

/**
 * Newest first, keyset-paged on (created_at, id): the live messages matching `query` in the
 * conversations `userId` is a member of (one of them when `conversationId` is given).
 */
export async function searchMessages(
  db: Executor,
  opts: {
    userId: string;
    query: string;
    conversationId?: string | undefined;
    limit: number;
    cursor: SearchCursor | null;
  },
) {
  const rows = await db
    .select({
      ...messageColumns,
      createdAtText: sql<string>`to_char(${messages.createdAt} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    })
    .from(messages)
    .where(
      and(
        isNull(messages.deletedAt),
        sql`${messages.conversationId} in (select ${members.conversationId} from ${members} where ${members.userId} = ${opts.userId})`,
        opts.conversationId ? eq(messages.conversationId, opts.conversationId) : undefined,
        sql`${messages.search} @@ ${tsquery(opts.query)}`,
        opts.cursor
          ? sql`(${messages.createdAt}, ${messages.id}) < (${opts.cursor.createdAt}::timestamptz, ${opts.cursor.id}::uuid)`
          : undefined,
      ),
    )
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(opts.limit + 1);
  const page = rows.slice(0, opts.limit);
  const last = page.at(-1);
  return {
    items: page.map(({ createdAtText: _t, ...row }) => row),
    next: rows.length > opts.limit && last ? { createdAt: last.createdAtText, id: last.id } : null,
  };
}

/** Each word's lexemes in both search configurations ([] for an English stop word, say). */
export async function lexemesOf(
  db: Executor,
  words: string[],
): Promise<Map<string, { english: string[]; simple: string[] }>> {
  const out = new Map<string, { english: string[]; simple: string[] }>();
  if (words.length === 0) return out;
  const result = await db.execute(sql`
    select w, tsvector_to_array(to_tsvector('english'::regconfig, w)) as english,
              tsvector_to_array(to_tsvector('simple'::regconfig, w)) as simple
    from jsonb_array_elements_text(${JSON.stringify(words)}::jsonb) as w`);
  // postgres.js answers the rows, PGlite an object holding them.
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
    w: string;
    english: string[] | string;
    simple: string[] | string;
  }[];
  for (const r of rows) out.set(r.w, { english: textArray(r.english), simple: textArray(r.simple) });
  return out;
}

/** A text[] as the driver hands it: parsed, or in PostgreSQL's text form ({a,"b c"}). */
function textArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, '');
  if (!inner) return [];
  return [...inner.matchAll(/"((?:[^"\\]|\\.)*)"|([^,]+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!,
  );
}
