/** True when `err` (from either driver, possibly wrapped by drizzle) is a unique-constraint violation. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const rec = e as { code?: unknown; constraint?: unknown; constraint_name?: unknown; cause?: unknown };
    if (rec.code === '23505') {
      const name = rec.constraint_name ?? rec.constraint;
      return constraint === undefined || name === undefined || name === constraint;
    }
    e = rec.cause;
  }
  return false;
}
