import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { KeyValue } from '../kv.js';
import { hashRefreshToken } from './tokens.js';

const PENDING = 'pending';
/** How long a refresh presenting the same token waits for the one already rotating it. */
const WAIT_MS = 3000;

/**
 * Two tabs waking together present one refresh token twice at once. The first rotates it; for
 * `graceMs` after that, the same token gets the SAME new pair instead of counting as reuse (which
 * revokes the session). Later, reuse still revokes. The shared result is stored (in Redis when
 * configured) sealed with a key derived from the old token itself, so the store alone cannot
 * read the new tokens, and it is found by the token's hash.
 */
export class RefreshGrace<T> {
  constructor(
    private readonly kv: KeyValue,
    private readonly graceMs: number,
  ) {}

  async run(token: string, rotate: () => Promise<T>): Promise<T> {
    if (this.graceMs <= 0) return rotate();
    const key = `refresh-grace:${hashRefreshToken(token)}`;
    if (await this.kv.put(key, PENDING, this.graceMs + WAIT_MS, true)) {
      try {
        const issued = await rotate();
        await this.kv.put(key, seal(token, JSON.stringify(issued)), this.graceMs);
        return issued;
      } catch (err) {
        await this.kv.del(key);
        throw err;
      }
    }
    // The token was rotated (or is being rotated) moments ago: share that result.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const value = await this.kv.get(key);
      if (value === null) break;
      if (value !== PENDING) {
        const opened = open(token, value);
        if (opened !== null) return JSON.parse(opened) as T;
        break;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // No result to share: the rotation decides (an already-used token revokes the session).
    return rotate();
  }
}

const keyOf = (token: string) => createHmac('sha256', token).update('parley refresh grace').digest();

function seal(token: string, plain: string) {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(token), iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

function open(token: string, sealed: string): string | null {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', keyOf(token), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
