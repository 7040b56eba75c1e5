/**
 * Members who share a name with another member of the same conversation, so the UI can mark them:
 * someone may take a colleague's name to be taken for them. Names are compared as a reader sees
 * them: compatibility forms folded (NFKC), case, accents and spacing ignored, and invisible format
 * characters (zero-width joiners and the like) dropped. Look-alike letters from other scripts
 * (Cyrillic "а" for Latin "a") are not folded: that needs Unicode's confusables table.
 */
export function comparableName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\p{M}\p{Cf}]/gu, '')
    .normalize('NFKC')
    .toLocaleLowerCase('und')
    .replace(/\s+/gu, ' ')
    .trim();
}

const cache = new WeakMap<readonly { id: string; displayName: string }[], ReadonlySet<string>>();

/** The ids of members whose name another member shares (computed once per members list). */
export function namesakes(members: readonly { id: string; displayName: string }[]): ReadonlySet<string> {
  const known = cache.get(members);
  if (known) return known;
  const byName = new Map<string, string[]>();
  for (const m of members) {
    const key = comparableName(m.displayName);
    byName.set(key, [...(byName.get(key) ?? []), m.id]);
  }
  const shared = new Set([...byName.values()].filter((ids) => ids.length > 1).flat());
  cache.set(members, shared);
  return shared;
}
