/** The PostgreSQL error in `err` (from either driver, possibly wrapped by drizzle), if any. */
function postgresError(err: unknown): { code: string; constraint: unknown } | null {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const rec = e as { code?: unknown; constraint?: unknown; constraint_name?: unknown; cause?: unknown };
    if (typeof rec.code === 'string' && /^[0-9A-Z]{5}$/.test(rec.code)) {
      return { code: rec.code, constraint: rec.constraint_name ?? rec.constraint };
    }
    e = rec.cause;
  }
  return null;
}

/** True when `err` is the PostgreSQL error with this SQLSTATE (e.g. 40P01, a deadlock). */
export function isSqlState(err: unknown, code: string): boolean {
  return postgresError(err)?.code === code;
}

/** True when `err` is a unique-constraint violation (of `constraint`, when given). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const pg = postgresError(err);
  if (pg?.code !== '23505') return false;
  return constraint === undefined || pg.constraint === undefined || pg.constraint === constraint;
}
