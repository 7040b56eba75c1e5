import type { KeyValue } from '../kv.js';
import type { RateLimiter, RateWindow } from '../rate-limit.js';
import { RateLimited } from '../errors.js';

/** Wrong passwords for one email from a device the owner used before (its usual IP, or a valid refresh cookie). */
export const LOGIN_FAILURES_KNOWN_DEVICE: RateWindow = { limit: 5, windowMs: 15 * 60_000 };
/** Wrong passwords for one email from anywhere else, before each attempt must wait. */
export const LOGIN_FAILURES_UNKNOWN: RateWindow = { limit: 5, windowMs: 15 * 60_000 };
/** Wrong passwords from one IP, whatever the email. */
export const LOGIN_FAILURES_PER_IP: RateWindow = { limit: 50, windowMs: 15 * 60_000 };
/** The longest wait between two attempts from unknown devices: attackers are slowed, the account never locked. */
export const LOGIN_SLOWDOWN_MAX_MS = 60_000;
/** How long a successful sign-in makes an IP one of the account's usual ones. */
export const USUAL_IP_TTL_MS = 30 * 24 * 3600_000;

/**
 * The sign-in throttle. Failures from strangers never lock the owner out: they only space out
 * further attempts from unknown devices (1 s, 2 s, 4 s ... at most a minute apart), while the
 * owner on a known device has a budget of its own. Failures per IP are limited across emails.
 */
export class LoginThrottle {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly kv: KeyValue,
  ) {}

  /** Throws TOO_MANY_REQUESTS when this attempt must wait; else says whether the device is known. */
  async before(email: string, ip: string, hasOwnersRefreshCookie: boolean): Promise<{ known: boolean }> {
    const e = email.toLowerCase();
    const byIp = await this.limiter.count(`login:ip:${ip}`, LOGIN_FAILURES_PER_IP);
    if (byIp.count >= LOGIN_FAILURES_PER_IP.limit) throw new RateLimited(byIp.retryAfterMs);
    const known = hasOwnersRefreshCookie || (await this.kv.get(`login:usual:${e}:${ip}`)) !== null;
    if (known) {
      const own = await this.limiter.count(`login:device:${e}:${ip}`, LOGIN_FAILURES_KNOWN_DEVICE);
      if (own.count >= LOGIN_FAILURES_KNOWN_DEVICE.limit) throw new RateLimited(own.retryAfterMs);
    } else {
      const wait = await this.kv.ttl(`login:gate:${e}`);
      if (wait > 0)
        throw new RateLimited(wait, 'Too many attempts for this account. Please wait a moment and try again.');
    }
    return { known };
  }

  async failed(email: string, ip: string, known: boolean) {
    const e = email.toLowerCase();
    await this.limiter.hit(`login:ip:${ip}`, LOGIN_FAILURES_PER_IP);
    if (known) {
      await this.limiter.hit(`login:device:${e}:${ip}`, LOGIN_FAILURES_KNOWN_DEVICE);
      return;
    }
    const { count } = await this.limiter.hit(`login:unknown:${e}`, LOGIN_FAILURES_UNKNOWN);
    if (count >= LOGIN_FAILURES_UNKNOWN.limit) {
      // The budget refuses rather than counts past its limit, so the doubling keeps its own step.
      const previous = Number(await this.kv.get(`login:slow:${e}`)) || 0;
      const delay = previous ? Math.min(LOGIN_SLOWDOWN_MAX_MS, previous * 2) : 1000;
      await this.kv.put(`login:slow:${e}`, String(delay), LOGIN_FAILURES_UNKNOWN.windowMs);
      await this.kv.put(`login:gate:${e}`, '1', delay);
    }
  }

  /** The owner got in: this IP becomes a usual one, its own failures are forgiven. */
  async succeeded(email: string, ip: string) {
    const e = email.toLowerCase();
    await this.limiter.reset(`login:device:${e}:${ip}`);
    await this.kv.put(`login:usual:${e}:${ip}`, '1', USUAL_IP_TTL_MS);
  }
}
