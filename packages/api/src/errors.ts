/**
 * Domain errors: what services throw when a rule says no. Services know nothing of tRPC; the one
 * middleware in trpc.ts (`domainErrors`) turns these into tRPC errors with the code below, and the
 * error formatter copies `details` (and a RateLimited's retryAfterMs) into `error.data`.
 */
import type { ErrorCode, ErrorDetails } from '@parley/protocol';

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  constructor(
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = new.target.name;
    // No stack: a refusal is an outcome, not a fault, and formatting a stack (through source maps
    // in development) cost more than the rest of answering it, thousands of times a second under abuse.
    this.stack = `${this.name}: ${message}`;
  }
}

/** Does not exist, or the caller may not see it (the two answer alike). */
export class NotFound extends DomainError {
  readonly code = 'NOT_FOUND';
}
/** Input that passed validation but breaks a rule (a chat with oneself, too many members). */
export class BadRequest extends DomainError {
  readonly code = 'BAD_REQUEST';
}
/** The resource's state forbids it now (taken email, busy, already answered). */
export class Conflict extends DomainError {
  readonly code = 'CONFLICT';
}
/** Visible to the caller, but not theirs to do. */
export class Forbidden extends DomainError {
  readonly code = 'FORBIDDEN';
}
/** Not signed in, or the credentials are wrong or over. */
export class Unauthorized extends DomainError {
  readonly code = 'UNAUTHORIZED';
}
export class PayloadTooLarge extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}
/** Over a limit: try again after `retryAfterMs` (error.data.retryAfterMs, and Retry-After over HTTP). */
export class RateLimited extends DomainError {
  readonly code = 'TOO_MANY_REQUESTS';
  constructor(
    readonly retryAfterMs: number,
    message = 'Too many attempts. Please wait and try again.',
    details: ErrorDetails = {},
  ) {
    super(message, details);
  }
}
