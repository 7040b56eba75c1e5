/**
 * Time-limited TURN credentials in the style of coturn's "TURN REST API"
 * (`use-auth-secret` + `static-auth-secret` in turnserver.conf):
 *
 *   username   = `${expiryUnixSeconds}:${userId}`
 *   credential = base64(HMAC-SHA1(secret, username))
 *
 * coturn recomputes the HMAC with the shared secret and refuses the allocation when the
 * credential does not match or the timestamp in the username lies in the past. The secret
 * itself never leaves the server, and a leaked credential stops working after `ttlSeconds`.
 */
import { createHmac } from 'node:crypto';
import type { Config } from '@parley/config';

/** The shape of the browser's `RTCIceServer`, with `urls` always an array. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface IceServersResult {
  iceServers: IceServer[];
  ttlSeconds: number;
}

/** `base64(HMAC-SHA1(secret, username))`, as coturn computes it. */
export function turnCredential(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

export function iceServersFor(userId: string, turn: Config['turn'], now: number = Date.now()): IceServersResult {
  if (userId.includes(':')) {
    // coturn takes everything before the first ':' as the expiry timestamp.
    throw new Error('A TURN user id must not contain ":"');
  }
  const ttlSeconds = turn.ttlSeconds;
  const iceServers: IceServer[] = [];
  if (turn.stunUrls.length > 0) iceServers.push({ urls: [...turn.stunUrls] });
  if (turn.urls.length > 0) {
    const expiry = Math.floor(now / 1000) + ttlSeconds;
    const username = `${expiry}:${userId}`;
    iceServers.push({ urls: [...turn.urls], username, credential: turnCredential(turn.secret, username) });
  }
  return { iceServers, ttlSeconds };
}
