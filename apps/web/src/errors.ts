import { formatWait } from './format';
import { i18n, resources } from './i18n';
import type { ApiError } from './trpc';

export type FieldErrors = Partial<Record<string, string>>;

/** The shared validators' (and so the server's) English messages → their keys in validation.json. */
const validationKeys = new Map(Object.entries(resources.en?.validation ?? {}).map(([k, v]) => [String(v), k]));

/** A validator's message in the UI's language (unknown messages pass through unchanged). */
export function translateIssue(message: string): string {
  const key = validationKeys.get(message);
  return key ? i18n.t(`validation:${key}`) : message;
}

/** The first message per field, from the server's flattened zod issues. */
export function fieldErrorsOf(err: unknown): FieldErrors {
  const fe = (err as Partial<ApiError> | null)?.data?.zodError?.fieldErrors;
  const out: FieldErrors = {};
  if (fe) for (const [k, v] of Object.entries(fe)) if (v?.[0]) out[k] = translateIssue(v[0]);
  return out;
}

/** Words a person can act on, whatever went wrong, in the UI's language. */
export function humanError(err: unknown, context: 'login' | 'register' | 'generic' = 'generic'): string {
  if (!err) return '';
  const t = i18n.t;
  const e = err as Partial<ApiError> & { message?: string };
  const code = e.data?.code;
  switch (code) {
    case 'UNAUTHORIZED':
      return context === 'login' ? t('common:errors.loginMismatch') : t('common:errors.sessionEnded');
    case 'CONFLICT':
      return context === 'register' ? t('common:errors.emailTaken') : e.message || t('common:errors.conflict');
    case 'TOO_MANY_REQUESTS': {
      const ms = e.data?.retryAfterMs;
      return ms && ms > 0 ? t('common:errors.tooManyWait', { wait: formatWait(ms) }) : t('common:errors.tooMany');
    }
    case 'BAD_REQUEST': {
      const form = e.data?.zodError?.formErrors?.[0];
      return form
        ? translateIssue(form)
        : e.data?.zodError
          ? t('common:errors.fixFields')
          : e.message || t('common:errors.badRequest');
    }
    case 'NOT_FOUND':
      return t('common:errors.notFound');
    case 'FORBIDDEN':
      return t('common:errors.forbidden');
    case 'PAYLOAD_TOO_LARGE':
      return t('common:errors.tooLarge');
    case undefined:
      return t('common:errors.unreachable');
    default:
      return e.message || t('common:errors.generic');
  }
}
