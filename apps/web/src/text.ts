/**
 * Cutting text by what a reader sees as one character (a grapheme: "🏖️", "👍🏽", "é", "🇩🇪"),
 * never by UTF-16 code unit, so that an emoji is never cut in half into "\uFFFD".
 */
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function graphemes(s: string): string[] {
  return Array.from(segmenter.segment(s), (x) => x.segment);
}

/** The first grapheme of a string ("" for ""). */
export function firstGrapheme(s: string): string {
  for (const x of segmenter.segment(s)) return x.segment;
  return '';
}

/** At most `max` graphemes; longer text ends in "…" (which counts as one of them). */
export function truncate(s: string, max: number): string {
  if (max <= 0) return '';
  // Cheap exit: fewer code units than max means fewer graphemes too.
  if (s.length <= max) return s;
  const gs = graphemes(s);
  if (gs.length <= max) return s;
  return `${gs
    .slice(0, max - 1)
    .join('')
    .trimEnd()}…`;
}

/** A one-line excerpt for lists and replies: whitespace folded, then cut by grapheme. */
export function excerpt(s: string, max = 120): string {
  return truncate(s.replace(/\s+/g, ' ').trim(), max);
}

/** Words that start with a letter or digit count; an emoji-only word is used only if nothing else is. */
const LETTER = /^[\p{L}\p{N}]/u;

/**
 * Up to two initials: the first graphemes of the first and last words ("Coast trip 🏖️" → "CT",
 * "🏖️ Beach" → "B", "🏖️" → "🏖️"), upper-cased in the given locale.
 */
export function initials(name: string, locale?: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const lettered = words.filter((w) => LETTER.test(w));
  const use = lettered.length ? lettered : words;
  const first = firstGrapheme(use[0]!);
  const last = use.length > 1 ? firstGrapheme(use[use.length - 1]!) : '';
  return (first + last).toLocaleUpperCase(locale);
}

/**
 * The longest start of `s` within `maxUnits` UTF-16 code units (how the server counts a message's
 * length) that ends on a grapheme boundary.
 */
export function fitLength(s: string, maxUnits: number): string {
  if (s.length <= maxUnits) return s;
  let out = '';
  for (const g of graphemes(s)) {
    if (out.length + g.length > maxUnits) break;
    out += g;
  }
  return out;
}
