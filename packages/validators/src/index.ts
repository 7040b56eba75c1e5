/**
 * Input schemas shared by the server's procedures and the clients' forms.
 * API.md states the rules; these schemas are where they are enforced.
 */
import { z } from 'zod';

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

/**
 * PostgreSQL text holds neither NUL nor half of a UTF-16 surrogate pair (a lone surrogate has no
 * UTF-8 form): refuse both in every free-text field that is stored or searched.
 */
const storable = (s: string) => !s.includes('\u0000') && !/\p{Cs}/u.test(s);
const NOT_STORABLE = 'Cannot contain NUL characters or broken Unicode';

export const id = z.uuid({ message: 'Must be a UUID' });
export const email = z
  .string()
  .trim()
  .max(254, 'Email is too long')
  .pipe(z.email({ message: 'Enter a valid email address' }));
export const password = z
  .string()
  .min(8, 'Password must be at least 8 characters')
  .refine((p) => utf8Bytes(p) <= 72, 'Password must be at most 72 bytes')
  .refine((p) => /\S/u.test(p), 'Password cannot be only spaces');

/** Controls: C0, DEL and C1. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/u;
/** Bidi embeddings, overrides and isolates, which reorder the text around a name, and the bare marks. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
/**
 * What draws nothing: spaces, format characters (zero-width space/joiners, BOM, soft hyphen, tags),
 * combining marks alone, variation selectors, and the blank letters (Hangul fillers, braille blank).
 */
// biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point is matched on its own, marks and selectors included (that is the point)
const INVISIBLE = /[\p{Z}\p{Cf}\p{M}\s\u115f\u1160\u3164\uffa0\u2800\u180b-\u180f\ufe00-\ufe0f\u{e0100}-\u{e01ef}]/gu;
export const displayName = z
  .string()
  .trim()
  .min(1, 'Display name is required')
  .max(64, 'Display name must be at most 64 characters')
  .refine((s) => !CONTROLS.test(s), 'Display name cannot contain control characters')
  .refine((s) => !BIDI.test(s), 'Display name cannot contain text-direction controls')
  .refine((s) => s.replace(INVISIBLE, '').length > 0, 'Display name must contain visible characters')
  .refine(storable, NOT_STORABLE);

export const registerInput = z.strictObject({ email, password, displayName });
/** A 6-digit TOTP code or a recovery code (xxxx-xxxx-xxxx-xxxx); spaces are forgiven. */
export const totpCode = z.string().trim().min(1, 'Enter the code').max(64, 'That code is too long');
// bcrypt reads only 72 bytes: a longer password would match on its first 72, so refuse it as at sign-up.
export const loginInput = z.strictObject({
  email,
  password: z
    .string()
    .min(1)
    .refine((p) => utf8Bytes(p) <= 72, 'Password must be at most 72 bytes'),
  totp: totpCode.optional(),
});

export const userSearchInput = z.strictObject({
  query: z.string().trim().min(1, 'Type at least one character').max(254).refine(storable, NOT_STORABLE),
  limit: z.number().int().min(1).max(50).default(20),
});
export const byIdInput = z.strictObject({ id });
export const about = z.string().trim().max(500, 'About must be at most 500 characters').refine(storable, NOT_STORABLE);
export const updateProfileInput = z.strictObject({
  displayName: displayName.optional(),
  about: about.optional(),
  /** An uploaded image (attachments.createUpload without a conversation); null removes the picture. */
  avatarAttachmentId: id.nullable().optional(),
});

export const groupTitle = z
  .string()
  .trim()
  .min(1, 'Title is required')
  .max(100, 'Title must be at most 100 characters')
  .refine(storable, NOT_STORABLE);

export const conversationListInput = z
  .strictObject({
    limit: z.number().int().min(1).max(100).default(30),
    cursor: z.string().max(200).refine(storable, NOT_STORABLE).nullish(),
  })
  .default({ limit: 30 });
export const openDirectInput = z.strictObject({ userId: id });
export const createGroupInput = z.strictObject({
  title: groupTitle,
  memberIds: z.array(id).min(1, 'Add at least one member').max(255, 'At most 255 other members'),
});
export const addMembersInput = z.strictObject({
  conversationId: id,
  userIds: z.array(id).min(1).max(255),
});
export const renameInput = z.strictObject({ conversationId: id, title: groupTitle });
export const conversationIdInput = z.strictObject({ conversationId: id });

export const messageBody = z
  .string()
  .trim()
  .min(1, 'Message cannot be empty')
  .max(4000, 'Message must be at most 4000 characters')
  .refine(storable, NOT_STORABLE);
/** Files one message may carry. */
export const MAX_ATTACHMENTS = 10;
export const sendMessageInput = z
  .strictObject({
    conversationId: id,
    clientId: id,
    // With attachments the body may be empty; the check below says so.
    body: z.string().trim().max(4000, 'Message must be at most 4000 characters').refine(storable, NOT_STORABLE),
    attachmentIds: z
      .array(id)
      .max(MAX_ATTACHMENTS, `At most ${MAX_ATTACHMENTS} files per message`)
      .refine((ids) => new Set(ids).size === ids.length, 'The same file twice')
      .optional(),
    /** A message of the same conversation that this one answers. */
    replyToId: id.optional(),
  })
  .refine((m) => m.body.length > 0 || (m.attachmentIds?.length ?? 0) > 0, {
    message: 'Message cannot be empty',
    path: ['body'],
  });

/** A file name as people see it: no path, no control characters. */
export const fileName = z
  .string()
  .trim()
  .min(1, 'The file needs a name')
  .max(255, 'File name must be at most 255 characters')
  .refine((s) => !/[\u0000-\u001f\u007f/\\]/.test(s), 'File name cannot contain slashes or control characters')
  .refine(storable, NOT_STORABLE);
export const createUploadInput = z.strictObject({
  /** Absent for a profile picture. */
  conversationId: id.optional(),
  name: fileName,
  /** Bytes, as the client knows them; the server counts what actually arrives. */
  size: z.number().int().min(1, 'The file is empty').max(Number.MAX_SAFE_INTEGER),
  contentType: z
    .string()
    .trim()
    .toLowerCase()
    .max(255)
    .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(;.*)?$/, 'Not a media type')
    .refine(storable, NOT_STORABLE),
});
export const signedUrlInput = z.strictObject({ attachmentId: id, thumbnail: z.boolean().default(false) });
const seqBound = z.number().int().min(0).max(2_147_483_647);
export const listMessagesInput = z.strictObject({
  conversationId: id,
  beforeSeq: seqBound.min(1).optional(),
  /** Pages forward from here (opening a search hit or a reply in context). */
  afterSeq: seqBound.optional(),
  limit: z.number().int().min(1).max(100).default(50),
});
export const messageIdInput = z.strictObject({ messageId: id });
export const editMessageInput = z.strictObject({ messageId: id, body: messageBody });

// Built at run time: the `v` flag (Unicode sets, \p{RGI_Emoji}) is newer than the TS target.
// biome-ignore lint/complexity/useRegexLiterals: a `/…/v` literal fails tsc below target ES2024 (TS1501)
const RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');
const PICTOGRAPH = /^\p{Extended_Pictographic}\uFE0F?$/u;
const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });
/** One emoji: a single grapheme (skin tones, ZWJ families and flags included) that is an emoji. */
export function isSingleEmoji(s: string): boolean {
  let count = 0;
  for (const _ of graphemes.segment(s)) if (++count > 1) return false;
  return count === 1 && (RGI_EMOJI.test(s) || PICTOGRAPH.test(s));
}
export const emoji = z.string().max(64, 'One emoji').refine(isSingleEmoji, 'Choose one emoji');
export const reactInput = z.strictObject({ messageId: id, emoji });

export const searchMessagesInput = z.strictObject({
  query: z.string().trim().min(1, 'Type something to search for').max(200).refine(storable, NOT_STORABLE),
  conversationId: id.optional(),
  limit: z.number().int().min(1).max(50).default(20),
  cursor: z.string().max(200).refine(storable, NOT_STORABLE).nullish(),
  /** Sent by tRPC's useInfiniteQuery beside the cursor; results are always newest first. */
  direction: z.enum(['forward', 'backward']).optional(),
});
export const markReadInput = z.strictObject({
  conversationId: id,
  seq: z.number().int().min(0).max(2_147_483_647),
});
export const onEventInput = z
  // A resume cursor (see @parley/protocol's cursor.ts), or a numeric id of the previous version
  // (answered with `resync`). Bounded: at most 256 partitions of 12 base-36 digits.
  .strictObject({
    lastEventId: z
      .string()
      .max(3400)
      .regex(/^(\d{1,18}|c1(\.[0-9a-z]{1,12}){1,256})$/, 'Not a Parley event id')
      .nullish(),
  })
  .optional();

export const callMedia = z.enum(['audio', 'video']);
export const startCallInput = z.strictObject({ conversationId: id, media: callMedia });
export const callIdInput = z.strictObject({ callId: id });
export const callSignal = z.discriminatedUnion('type', [
  z.strictObject({ type: z.enum(['offer', 'answer']), sdp: z.string().min(1).max(100_000) }),
  z.strictObject({
    type: z.literal('ice'),
    candidate: z.strictObject({
      candidate: z.string().max(2000),
      sdpMid: z.string().max(100).nullish(),
      sdpMLineIndex: z.number().int().min(0).max(1000).nullish(),
      usernameFragment: z.string().max(256).nullish(),
    }),
  }),
  /** What the sender's microphone, camera and screen are doing, so the others can show it. */
  z.strictObject({ type: z.literal('state'), muted: z.boolean(), cameraOff: z.boolean(), screen: z.boolean() }),
]);
/**
 * `toUserId` addresses one participant (their device in the call); without it, in a direct call,
 * the signal goes to the other participant as before.
 */
export const signalInput = z.strictObject({ callId: id, signal: callSignal, toUserId: id.optional() });
export const callHistoryInput = z.strictObject({
  conversationId: id,
  /** Calls started before this instant (the `createdAt` of the oldest one already shown). */
  before: z.iso.datetime({ offset: true }).optional(),
  limit: z.number().int().min(1).max(100).default(30),
});

export type RegisterInput = z.infer<typeof registerInput>;
export type LoginInput = z.infer<typeof loginInput>;
export type CallSignal = z.infer<typeof callSignal>;
export type CallMedia = z.infer<typeof callMedia>;
export * from './notifications.js';

// Accounts: mail links, passwords, second factors, passkeys, blocking.
/** A token from a mailed link: `<uuid>.<secret>`. */
export const mailToken = z.string().trim().min(1, 'The link is incomplete').max(200, 'The link is not valid');
export const verifyEmailInput = z.strictObject({ token: mailToken });
export const requestPasswordResetInput = z.strictObject({ email });
export const resetPasswordInput = z.strictObject({ token: mailToken, password });
export const changePasswordInput = z.strictObject({
  currentPassword: z.string().min(1).max(1024),
  newPassword: password,
});
export const totpEnableInput = z.strictObject({ code: totpCode });
export const totpDisableInput = z.strictObject({ password: z.string().min(1).max(1024), code: totpCode });
export const deleteAccountInput = z.strictObject({ password: z.string().min(1).max(1024), code: totpCode.optional() });
export const passkeyName = z
  .string()
  .trim()
  .min(1, 'Give the passkey a name')
  .max(64, 'At most 64 characters')
  .refine(
    (s) => !/[\u0000-\u001f\u007f]/.test(s) && storable(s),
    'Cannot contain control characters or broken Unicode',
  );
/** A WebAuthn response as @simplewebauthn/browser returns it; the library checks its contents. */
const webauthnResponse = z.looseObject({
  id: z.string().min(1).max(1024),
  rawId: z.string().min(1).max(1024),
  type: z.literal('public-key'),
  response: z.looseObject({ clientDataJSON: z.string().min(1).max(16_384) }),
});
export const passkeyRegisterInput = z.strictObject({ name: passkeyName, response: webauthnResponse });
export const passkeyLoginInput = z.strictObject({ response: webauthnResponse });
export const userIdInput = z.strictObject({ userId: id });
