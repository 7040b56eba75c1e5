/**
 * The 10,000 most common passwords that would otherwise pass the length rules (8 to 72 bytes),
 * lowercased: the ranked list of @zxcvbn-ts/language-common 4.1.3 (MIT, Dan Wheeler, Dropbox and
 * @zxcvbn-ts; see common-passwords.LICENSE.txt), cut to its first 10,000 entries of 8+ characters.
 * Server-side only: the browser bundle does not carry 90 KB of words.
 */
import { readFileSync } from 'node:fs';
import { BadRequest } from '../errors.js';

let list: Set<string> | null = null;
const common = () =>
  (list ??= new Set(
    readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .filter(Boolean),
  ));

export const COMMON_PASSWORD = 'This password is one of the most common ones. Please choose another.';

export function isCommonPassword(password: string) {
  return common().has(password.toLowerCase());
}

/** BAD_REQUEST with the reason on the field, as zod's issues are (error.data.zodError). */
class CommonPassword extends BadRequest {
  constructor(readonly field: string) {
    super(COMMON_PASSWORD);
  }
  get issues() {
    return [{ path: [this.field], message: COMMON_PASSWORD }];
  }
}

/** Refuses a new password found in the list. */
export function refuseCommonPassword(password: string, field = 'password') {
  if (isCommonPassword(password)) throw new CommonPassword(field);
}
