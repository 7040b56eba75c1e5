export { appRouter, type AppRouter, type RouterInputs, type RouterOutputs } from './root.js';
export { createServices, type Services } from './services/index.js';
export type { RedisClient } from './events/bus.js';
export { MailService } from './services/mail.js';
export {
  ACCESS_COOKIE,
  REFRESH_COOKIE,
  type Context,
  type CookieJar,
  type RequestInfo,
  type SocketState,
} from './context.js';
export { createLogger, type Logger } from './logger.js';
export {
  CLOSE_GOING_AWAY,
  CLOSE_SESSION_REVOKED,
  CLOSE_TOKEN_EXPIRED,
  CLOSE_TOO_MANY_SOCKETS,
  type LiveConnection,
} from './realtime/connections.js';
export { newRefreshToken, TokenService, type AccessClaims } from './auth/tokens.js';
export {
  createCallerFactory,
  errorShape,
  limited,
  MAX_FRAME_CALLS,
  MAX_HTTP_BATCH,
  MAX_INPUT_BYTES,
  payloadTooLarge,
  RATE_LIMITS,
  subscriptionOverHttp,
  tooManyRequests,
} from './trpc.js';
export * from './errors.js';
export { highlight, positiveTerms } from './services/message-search.js';
export { FairShare } from './fair-share.js';
export {
  AttachmentService,
  FileRouteError,
  type Download,
  type FileSelector,
  type Variant,
} from './services/attachments.js';
export { toAttachment, type Attachment } from './presenters.js';
export { LOGIN_SLOWDOWN_MAX_MS } from './auth/login-throttle.js';
