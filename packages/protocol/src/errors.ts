/** What a client can rely on in a failed call's `error.data`, and the WebSocket close codes. */
import { z } from 'zod';

/** The tRPC error codes Parley answers with (API.md "Errors"). */
export const errorCode = z.enum([
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'TOO_MANY_REQUESTS',
  'PAYLOAD_TOO_LARGE',
  'INTERNAL_SERVER_ERROR',
]);
export type ErrorCode = z.infer<typeof errorCode>;

/**
 * `error.data` of every failed call. Extra facts a domain error carries (its `details`) are
 * spread in beside these: declare each one here as optional.
 */
export const errorData = z.object({
  /** A tRPC code; one of `errorCode` for everything Parley itself raises. */
  code: z.string(),
  httpStatus: z.number().int(),
  path: z.string().optional(),
  /** BAD_REQUEST from validation: zod's issues, flattened for forms. */
  zodError: z
    .object({
      formErrors: z.array(z.string()),
      fieldErrors: z.record(z.string(), z.array(z.string())),
      issues: z.array(z.object({ path: z.array(z.string()), message: z.string() })),
    })
    .nullable(),
  /** TOO_MANY_REQUESTS: when to try again. */
  retryAfterMs: z.number().nullable(),
  /** A machine-readable reason beside the code, e.g. CONFLICT `busy`. */
  reason: z.string().optional(),
  /** UNAUTHORIZED at sign-in: the password was right, the second factor is missing or wrong. */
  mfaRequired: z.boolean().optional(),
});
export type ErrorData = z.infer<typeof errorData>;
/** The facts a domain error may add to `error.data`. */
export type ErrorDetails = Partial<Pick<ErrorData, 'reason' | 'mfaRequired'>>;

/** Access token expired: reconnect with a fresh token and resume. */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** Session revoked: stop. */
export const CLOSE_SESSION_REVOKED = 4003;
/** Too many sockets for this user: stop reconnecting for a while. */
export const CLOSE_TOO_MANY_SOCKETS = 4029;
/** The instance is shutting down ("service restart"): reconnect, elsewhere. */
export const CLOSE_GOING_AWAY = 1012;
