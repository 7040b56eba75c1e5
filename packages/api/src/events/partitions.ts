import type { EventScope } from '@parley/protocol';

/** FNV-1a, 32 bits: cheap, stable across processes and versions, and spreads uuids evenly. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The log partition of a scope: its conversation's, or (for an event about one user) that user's. */
export function partitionOf(scope: EventScope, partitions: number): number {
  const key = 'conversationId' in scope ? scope.conversationId : scope.userId;
  return fnv1a(key) % partitions;
}
