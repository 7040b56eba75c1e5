import { Fragment, useMemo, type ReactNode } from 'react';
import { isEmojiOnly, parseRich, type RichNode } from './richText';

function render(nodes: RichNode[], key = ''): ReactNode[] {
  return nodes.map((n, i) => {
    const k = `${key}${i}`;
    if (typeof n === 'string') return <Fragment key={k}>{n}</Fragment>;
    switch (n.type) {
      case 'bold':
        return <strong key={k}>{render(n.children, `${k}.`)}</strong>;
      case 'italic':
        return <em key={k}>{render(n.children, `${k}.`)}</em>;
      case 'strike':
        return <del key={k}>{render(n.children, `${k}.`)}</del>;
      case 'code':
        return <code key={k}>{n.text}</code>;
      case 'pre':
        return (
          <pre key={k}>
            <code>{n.text}</code>
          </pre>
        );
      case 'link':
        // href comes from safeHref (http, https, mailto only); the text stays as written.
        return (
          <a key={k} href={n.href} target="_blank" rel="noopener noreferrer">
            {showBidiControls(n.text)}
          </a>
        );
    }
    return null;
  });
}

/** Bidi controls in a link's text, made visible (a U+202E could make "exe.txt" read as "txt.exe"). */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
export function showBidiControls(text: string) {
  return text.replace(BIDI_CONTROLS, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

/**
 * A message body in the formatting language, as React elements (never an HTML string). Each body
 * is its own bidi island (dir="auto", unicode-bidi: isolate): an override inside cannot reorder
 * the sender's name, the time or the next message.
 */
export function RichText({ body, className = 'body' }: { body: string; className?: string }) {
  const nodes = useMemo(() => render(parseRich(body)), [body]);
  const big = useMemo(() => isEmojiOnly(body), [body]);
  return (
    <span dir="auto" style={{ unicodeBidi: 'isolate' }} className={`${className}${big ? ' emoji-only' : ''}`}>
      {nodes}
    </span>
  );
}

/** Plain text with [start, end) ranges marked (search snippets): React elements, no markup parsed. */
export function MarkedText({ text, marks }: { text: string; marks: [number, number][] }) {
  const parts: ReactNode[] = [];
  let at = 0;
  for (const [s, e] of [...marks].sort((a, b) => a[0] - b[0])) {
    if (s < at || e <= s || e > text.length) continue;
    if (s > at) parts.push(text.slice(at, s));
    parts.push(<mark key={s}>{text.slice(s, e)}</mark>);
    at = e;
  }
  if (at < text.length) parts.push(text.slice(at));
  return <>{parts}</>;
}
