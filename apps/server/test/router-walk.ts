/**
 * The router's procedures, walked generically: the fuzzer and the access table both cover every
 * procedure the router has, so a new one cannot be forgotten.
 */
import { appRouter } from '@parley/api';

export type AnyProc = ((opts: unknown) => Promise<unknown>) & {
  _def: { type: 'query' | 'mutation' | 'subscription'; inputs: unknown[] };
};

// tRPC's flat procedure map is typed per path; these tests walk it generically.
const isProcedure = (p: unknown): p is AnyProc => typeof p === 'function' && '_def' in p;

/** Every procedure of the router by path ('auth.login', ...), sorted by path. */
export const procedures = Object.entries(appRouter._def.procedures as Record<string, unknown>)
  .flatMap(([path, p]): [string, AnyProc][] => (isProcedure(p) ? [[path, p]] : []))
  .sort(([a], [b]) => a.localeCompare(b));

/** The field names of a zod object schema, through .default()/.optional()/.nullish() wrappers. */
export function fieldsOf(schema: unknown): string[] {
  let s = schema as { shape?: Record<string, unknown>; _zod?: { def?: { innerType?: unknown } } } | undefined;
  for (let i = 0; i < 5 && s; i++) {
    if (s.shape) return Object.keys(s.shape);
    s = s._zod?.def?.innerType as typeof s;
  }
  return [];
}
