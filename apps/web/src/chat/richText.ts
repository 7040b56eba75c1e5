/**
 * The small formatting language of message bodies, parsed into a tree that RichText.tsx renders
 * as React elements (never as an HTML string, so nothing in a message can become markup):
 *   **bold**  *italic* or _italic_  ~~strike~~  `inline code`  ```code block```
 * and links: only http://, https:// and mailto: URLs become links; any other scheme (javascript:,
 * data:, ...) stays text.
 */
import { isSingleEmoji } from '@parley/validators';
import { graphemes } from '../text';

export type RichNode =
  | string
  | { type: 'bold' | 'italic' | 'strike'; children: RichNode[] }
  | { type: 'code'; text: string }
  | { type: 'pre'; text: string }
  | { type: 'link'; href: string; text: string };

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
/** A URL candidate: a scheme we allow, then anything up to whitespace or an angle bracket. */
const URL_AT = /^(?:https?:\/\/|mailto:)[^\s<>]+/i;
/** A fence may name its language on the first line (```js); the name is not shown. */
const FENCE = /```(?:[\w+#.-]*[^\S\n]*\n)?([\s\S]*?)```/g;

/** The href to use for `text`, or null when it is not a URL we link (scheme, or unparsable). */
export function safeHref(text: string): string | null {
  try {
    const url = new URL(text);
    if (!SAFE_PROTOCOLS.has(url.protocol)) return null;
    if (url.protocol !== 'mailto:' && !url.hostname) return null;
    return url.href;
  } catch {
    return null;
  }
}

/** Trailing punctuation belongs to the sentence, not the URL: "see https://x.org." (a ")" only when unbalanced). */
function trimUrl(candidate: string): string {
  let url = candidate;
  for (;;) {
    const last = url.at(-1);
    if (!last) return url;
    if ('.,;:!?\'"*_~'.includes(last)) url = url.slice(0, -1);
    else if (last === ')' && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0)) url = url.slice(0, -1);
    else return url;
  }
}

const isWordChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

interface Delim {
  open: string;
  type: 'bold' | 'italic' | 'strike';
  /** Underscores only at word edges: snake_case_names stay as written. */
  wordEdges?: boolean;
}
const DELIMS: Delim[] = [
  { open: '**', type: 'bold' },
  { open: '~~', type: 'strike' },
  { open: '*', type: 'italic' },
  { open: '_', type: 'italic', wordEdges: true },
];

/** Where the span opened at `from` (just after the delimiter) closes, or -1. */
function closing(s: string, from: number, d: Delim): number {
  if (from >= s.length || /\s/.test(s[from]!)) return -1; // "** not bold"
  for (let j = s.indexOf(d.open, from + 1); j !== -1; j = s.indexOf(d.open, j + 1)) {
    if (/\s/.test(s[j - 1]!)) continue; // "*a *" closes only after a non-space
    // "**" must not be read as the end of a "*" span, nor "*" inside "**".
    if (d.open === '*' && (s[j + 1] === '*' || s[j - 1] === '*')) continue;
    if (d.wordEdges && (isWordChar(s[j + 1]) || s[j + 1] === '_' || s[j - 1] === '_')) continue;
    return j;
  }
  return -1;
}

function parseInline(s: string, depth = 0): RichNode[] {
  const out: RichNode[] = [];
  let text = '';
  const flush = () => {
    if (text) out.push(text);
    text = '';
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '`') {
      const end = s.indexOf('`', i + 1);
      if (end > i + 1 && !s.slice(i + 1, end).includes('\n')) {
        flush();
        out.push({ type: 'code', text: s.slice(i + 1, end) });
        i = end + 1;
        continue;
      }
    }
    if ((c === 'h' || c === 'H' || c === 'm' || c === 'M') && !isWordChar(s[i - 1])) {
      const m = URL_AT.exec(s.slice(i));
      if (m) {
        const candidate = trimUrl(m[0]);
        const href = safeHref(candidate);
        if (href) {
          flush();
          out.push({ type: 'link', href, text: candidate });
          i += candidate.length;
          continue;
        }
      }
    }
    // Nesting is bounded: a deep pile of delimiters is read as text, not recursed into.
    const d = depth < 8 ? DELIMS.find((x) => s.startsWith(x.open, i)) : undefined;
    // "_" opens only at a word's start, and never as part of "__" (__init__, window.__x).
    if (d && !(d.wordEdges && (isWordChar(s[i - 1]) || s[i - 1] === '_' || s[i + 1] === '_'))) {
      const start = i + d.open.length;
      const end = closing(s, start, d);
      // A span holds more than delimiters: "*****" is five stars, not an empty bold.
      if (end > start && /[^*_~]/.test(s.slice(start, end))) {
        flush();
        out.push({ type: d.type, children: parseInline(s.slice(start, end), depth + 1) });
        i = end + d.open.length;
        continue;
      }
      // Not a span: keep the whole delimiter as text (so "**" is not retried as two "*").
      text += d.open;
      i += d.open.length;
      continue;
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

/** The body as a tree: code blocks first (their content is literal), then the inline language. */
export function parseRich(body: string): RichNode[] {
  const out: RichNode[] = [];
  let last = 0;
  for (const m of body.matchAll(FENCE)) {
    if (m.index > last) out.push(...parseInline(body.slice(last, m.index)));
    out.push({ type: 'pre', text: m[1]!.replace(/\n$/, '') });
    last = m.index + m[0].length;
  }
  if (last < body.length) out.push(...parseInline(body.slice(last)));
  return out;
}

/** 1 to 3 emoji and nothing else (spaces aside): shown large. */
export function isEmojiOnly(body: string): boolean {
  const gs = graphemes(body.replace(/\s+/g, ''));
  return gs.length >= 1 && gs.length <= 3 && gs.every(isSingleEmoji);
}

/** The text a reader sees, without the formatting marks (for quotes and previews). */
export function plainText(nodes: RichNode[]): string {
  return nodes.map((n) => (typeof n === 'string' ? n : 'children' in n ? plainText(n.children) : n.text)).join('');
}
