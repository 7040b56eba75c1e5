import type { AccessClaims } from './auth/tokens.js';
import type { Services } from './services/index.js';

export const ACCESS_COOKIE = 'parley_access';
export const REFRESH_COOKIE = 'parley_refresh';

export interface CookieOptions {
  maxAgeSeconds: number;
  path: string;
}

/** The HTTP adapter's cookies, seen through the only operations the API needs. */
export interface CookieJar {
  get(name: string): string | undefined;
  set(name: string, value: string, opts: CookieOptions): void;
  clear(name: string, path: string): void;
}

export interface RequestInfo {
  ip: string;
  userAgent: string | null;
}

/** What one WebSocket connection counts across its calls (its context is built once). */
export interface SocketState {
  subscriptions: number;
  /** Records whether the page behind this socket is visible (absent on an unauthenticated socket). */
  setVisible?: (visible: boolean) => Promise<void>;
  /** Resolves once the socket's send buffer is under its limit (backpressure; set by the server). */
  writable?: () => Promise<void>;
}

export interface Context {
  services: Services;
  req: RequestInfo;
  /** Set over WebSocket only. */
  socket?: SocketState;
  /** Null over WebSocket, where no cookie can be set. */
  cookies: CookieJar | null;
  auth: AccessClaims | null;
}
