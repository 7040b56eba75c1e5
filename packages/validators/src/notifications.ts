import { z } from 'zod';

const id = z.uuid({ message: 'Must be a UUID' });
const base64url = (name: string, min: number, max: number) =>
  z
    .string()
    .min(min, `${name} is too short`)
    .max(max, `${name} is too long`)
    .regex(/^[A-Za-z0-9_-]+=*$/, `${name} must be base64url`);

/** A push endpoint is a URL: printable ASCII only (browsers percent-encode the rest). */
const endpoint = z
  .string()
  .min(1, 'The push endpoint is required')
  .max(2048, 'The push endpoint is too long')
  .regex(/^[\x21-\x7e]+$/, 'The push endpoint must be a URL');

/** A browser's PushSubscription.toJSON(): p256dh is a 65-byte P-256 point, auth 16 bytes (RFC 8291). */
export const pushSubscribeInput = z.strictObject({
  endpoint,
  keys: z.strictObject({ p256dh: base64url('p256dh', 80, 100), auth: base64url('auth', 16, 32) }),
});
export const pushUnsubscribeInput = z.strictObject({ endpoint });
export const notificationSettingsInput = z.strictObject({ showMessageText: z.boolean() });
/** Sent over the WebSocket whenever the tab is shown or hidden. */
export const visibilityInput = z.strictObject({ visible: z.boolean() });
/** `until`: an ISO time in the future (at most a year ahead), or null for "until I unmute". */
export const muteInput = z.strictObject({
  conversationId: id,
  until: z.iso
    .datetime({ offset: true, message: 'Must be an ISO-8601 time' })
    .refine((s) => Date.parse(s) > Date.now(), 'Must be in the future')
    .refine((s) => Date.parse(s) < Date.now() + 366 * 86_400_000, 'At most a year ahead; use null for "until I unmute"')
    .nullable(),
});
