import type { ApiError } from './trpc';

export type FieldErrors = Partial<Record<string, string>>;

/** The first message per field, from the server's flattened zod issues. */
export function fieldErrorsOf(err: unknown): FieldErrors {
  const fe = (err as Partial<ApiError> | null)?.data?.zodError?.fieldErrors;
  const out: FieldErrors = {};
  if (fe) for (const [k, v] of Object.entries(fe)) if (v?.[0]) out[k] = v[0];
  return out;
}

function seconds(ms: number | null | undefined) {
  if (!ms || ms <= 0) return null;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s} second${s === 1 ? '' : 's'}` : `${Math.ceil(s / 60)} minute${s < 120 ? '' : 's'}`;
}

/** Words a person can act on, whatever went wrong. */
export function humanError(err: unknown, context: 'login' | 'register' | 'generic' = 'generic'): string {
  if (!err) return '';
  const e = err as Partial<ApiError> & { message?: string };
  const code = e.data?.code;
  switch (code) {
    case 'UNAUTHORIZED':
      return context === 'login'
        ? 'That email and password don’t match an account. Check them and try again.'
        : 'Your session has ended. Please sign in again.';
    case 'CONFLICT':
      return context === 'register'
        ? 'An account with this email already exists. Try signing in instead.'
        : e.message || 'That conflicts with something that already exists.';
    case 'TOO_MANY_REQUESTS': {
      const wait = seconds(e.data?.retryAfterMs);
      return wait ? `Too many attempts. Please wait ${wait} and try again.` : 'Too many attempts. Please wait a moment and try again.';
    }
    case 'BAD_REQUEST':
      return e.data?.zodError?.formErrors?.[0] ?? (e.data?.zodError ? 'Please fix the highlighted fields.' : e.message || 'That request was not valid.');
    case 'NOT_FOUND':
      return 'We couldn’t find that. It may have been removed, or you may not have access.';
    case 'FORBIDDEN':
      return 'You don’t have permission to do that.';
    case 'PAYLOAD_TOO_LARGE':
      return 'That is too large to send.';
    case undefined:
      return 'Can’t reach Parley right now. Check your connection and try again.';
    default:
      return e.message || 'Something went wrong. Please try again.';
  }
}
