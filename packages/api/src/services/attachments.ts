import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Config } from '@parley/config';
import {
  deleteAttachmentRows,
  findAttachment,
  findConversationForMember,
  findDownloadable,
  insertAttachment,
  markAttachmentReady,
  orphanAttachmentIds,
  type AttachmentRow,
  type Db,
  type Executor,
} from '@parley/db';
import type { FileStore } from '@parley/storage';
import { fileTypeFromFile } from 'file-type';
import { parseFile } from 'music-metadata';
import sharp from 'sharp';
import { BadRequest, NotFound, PayloadTooLarge } from '../errors.js';
import type { Logger } from '../logger.js';
import { toAttachment, type Attachment } from '../presenters.js';
import { notFound } from './conversations.js';

/** How long an upload URL and a signed download URL stay good. */
export const UPLOAD_URL_TTL_MS = 15 * 60_000;
export const SIGNED_URL_TTL_MS = 5 * 60_000;
const THUMBNAIL_PX = 320;
/** Images larger than this (in pixels) are refused before they are decoded: 40 MP, ~160 MB of RGBA. */
const MAX_IMAGE_PIXELS = 40_000_000;
/** Images decoded at once per instance: each can take a few hundred MB while sharp works on it. */
const IMAGE_CONCURRENCY = 2;

/** Shown in the page (img, video, audio); everything else is only ever downloaded. */
const INLINE_IMAGES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/avif']);

sharp.cache(false);

/** A refusal of the upload and download routes (plain HTTP, not tRPC). */
export class FileRouteError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 415,
    readonly code:
      | 'BAD_REQUEST'
      | 'FORBIDDEN'
      | 'NOT_FOUND'
      | 'CONFLICT'
      | 'PAYLOAD_TOO_LARGE'
      | 'UNSUPPORTED_MEDIA_TYPE',
    message: string,
  ) {
    super(message);
  }
}

export type Variant = 'file' | 'thumbnail';
/** Which files to delete: a message's, everything a user uploaded, or these. */
export type FileSelector = { messageIds: string[] } | { uploaderId: string } | { ids: string[] };

export interface CreateUploadInput {
  conversationId?: string | undefined;
  name: string;
  size: number;
  contentType: string;
}

/** What the download route needs to answer. */
export interface Download {
  row: AttachmentRow;
  key: string;
  contentType: string;
  /** Shown in the page (image, video, audio) or only ever saved. */
  inline: boolean;
}

class Semaphore {
  private waiting: (() => void)[] = [];
  private active = 0;
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/**
 * Uploads, downloads and deletion of files. The bytes pass through the server on their way in,
 * streamed to a temporary file and checked there (the type from the bytes; images re-encoded
 * without their metadata, with a thumbnail), so nothing unchecked is ever stored where anyone
 * can download it.
 */
export class AttachmentService {
  private readonly key: Buffer;
  private readonly tmpDir: string;
  private readonly images = new Semaphore(IMAGE_CONCURRENCY);
  /** Uploads being received on this instance (a second PUT of the same one is refused). */
  private readonly receiving = new Set<string>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly deps: { db: Db; config: Config; store: FileStore; logger: Logger }) {
    // Its own key, derived from the server secret, so a file signature is never a valid JWT signature.
    this.key = createHmac('sha256', deps.config.jwtSecret).update('parley:file-urls').digest();
    this.tmpDir = join(deps.config.dataDir, 'uploads-tmp');
  }

  get maxBytes() {
    return this.deps.config.uploads.maxBytes;
  }

  async createUpload(userId: string, input: CreateUploadInput) {
    if (input.size > this.maxBytes) {
      throw new PayloadTooLarge(`This file is too large (at most ${formatBytes(this.maxBytes)}).`);
    }
    const purpose = input.conversationId ? 'message' : 'avatar';
    if (purpose === 'avatar' && !input.contentType.startsWith('image/')) {
      throw new BadRequest('A profile picture must be an image.');
    }
    if (input.conversationId && !(await findConversationForMember(this.deps.db, input.conversationId, userId))) {
      throw notFound();
    }
    const id = randomUUID();
    await insertAttachment(this.deps.db, {
      id,
      uploaderId: userId,
      conversationId: input.conversationId ?? null,
      purpose,
      state: 'pending',
      name: input.name,
      declaredType: input.contentType,
      size: input.size,
      storageKey: `a/${id}/file`,
    });
    const { url, expiresAt } = this.uploadUrl(id);
    return {
      attachmentId: id,
      uploadUrl: url,
      method: 'PUT' as const,
      headers: { 'content-type': input.contentType } as Record<string, string>,
      expiresAt,
    };
  }

  /** The signed URL that takes one upload's bytes (a path on this server). */
  uploadUrl(id: string, ttlMs = UPLOAD_URL_TTL_MS) {
    const expires = Date.now() + ttlMs;
    return {
      url: `/files/uploads/${id}?expires=${expires}&sig=${this.sign('put', id, expires)}`,
      expiresAt: new Date(expires).toISOString(),
    };
  }

  /**
   * Receives an upload's bytes from a signed upload URL. Streams them to a temporary file,
   * counting: past MAX_UPLOAD_BYTES it stops reading and keeps nothing. Then decides the type
   * from the bytes and stores what people may download.
   */
  async receive(
    id: string,
    query: { expires?: unknown; sig?: unknown },
    body: Readable,
    declaredLength: number | null,
  ): Promise<Attachment> {
    if (!this.verify('put', id, query))
      throw new FileRouteError(403, 'FORBIDDEN', 'This upload link is invalid or has expired.');
    const row = await findAttachment(this.deps.db, id);
    if (!row) throw new FileRouteError(404, 'NOT_FOUND', 'No such upload.');
    if (row.state !== 'pending' || this.receiving.has(id)) {
      throw new FileRouteError(409, 'CONFLICT', 'This file was already uploaded.');
    }
    if (declaredLength !== null && declaredLength > this.maxBytes) throw this.tooLarge();
    this.receiving.add(id);
    const work = join(this.tmpDir, randomUUID());
    await mkdir(work, { recursive: true });
    try {
      const raw = join(work, 'raw');
      let received = 0;
      const max = this.maxBytes;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          received += chunk.length;
          if (received > max) done(new FileRouteError(413, 'PAYLOAD_TOO_LARGE', 'too large'));
          else done(null, chunk);
        },
      });
      try {
        await pipeline(body, counter, createWriteStream(raw));
      } catch (err) {
        if (err instanceof FileRouteError) throw this.tooLarge();
        throw err;
      }
      if (received === 0) throw new FileRouteError(400, 'BAD_REQUEST', 'The file is empty.');
      const facts = await this.inspect(row, raw, work);
      await this.deps.store.put(row.storageKey, facts.path, facts.contentType);
      if (facts.thumbnailPath) await this.deps.store.put(`a/${id}/thumbnail`, facts.thumbnailPath, 'image/webp');
      const ready = await markAttachmentReady(this.deps.db, id, {
        contentType: facts.contentType,
        kind: facts.kind,
        size: (await stat(facts.path)).size,
        width: facts.width,
        height: facts.height,
        durationMs: facts.kind === 'audio' || facts.kind === 'video' ? await readDurationMs(facts.path) : null,
        thumbnailKey: facts.thumbnailPath ? `a/${id}/thumbnail` : null,
      });
      if (!ready) {
        // Swept or sent meanwhile: what was just stored belongs to no row.
        await this.deps.store.delete([row.storageKey, `a/${id}/thumbnail`]);
        throw new FileRouteError(409, 'CONFLICT', 'This upload is no longer open.');
      }
      return toAttachment(ready);
    } finally {
      this.receiving.delete(id);
      await rm(work, { recursive: true, force: true });
    }
  }

  private tooLarge() {
    return new FileRouteError(
      413,
      'PAYLOAD_TOO_LARGE',
      `This file is too large (at most ${formatBytes(this.maxBytes)}).`,
    );
  }

  /** The type from the bytes; images re-encoded without metadata, with a thumbnail. */
  private async inspect(row: AttachmentRow, raw: string, work: string) {
    const sniffed = (await fileTypeFromFile(raw))?.mime ?? null;
    const declared = row.declaredType.toLowerCase();
    const declaredImage = declared.startsWith('image/') || row.purpose === 'avatar';
    if (sniffed?.startsWith('image/')) return this.images.run(() => this.processImage(raw, work, sniffed));
    if (declaredImage) {
      throw new FileRouteError(415, 'UNSUPPORTED_MEDIA_TYPE', 'This file is not an image, though it was sent as one.');
    }
    const base = { path: raw, thumbnailPath: null, width: null, height: null };
    if (sniffed && isMediaContainer(sniffed)) {
      // WebM, MP4 and Ogg hold audio or video alike: the declared kind picks between them.
      const kind = declared.startsWith('audio/')
        ? 'audio'
        : declared.startsWith('video/')
          ? 'video'
          : sniffed.split('/')[0]!;
      const contentType = `${kind}/${sniffed.split('/')[1]!}`.replace('audio/x-m4a', 'audio/mp4');
      return { ...base, kind: kind as 'audio' | 'video', contentType };
    }
    if (sniffed?.startsWith('audio/')) return { ...base, kind: 'audio' as const, contentType: sniffed };
    if (sniffed?.startsWith('video/')) return { ...base, kind: 'video' as const, contentType: sniffed };
    return { ...base, kind: 'file' as const, contentType: sniffed ?? 'application/octet-stream' };
  }

  private async processImage(raw: string, work: string, sniffed: string) {
    const input = () => sharp(raw, { limitInputPixels: MAX_IMAGE_PIXELS, animated: sniffed === 'image/gif' });
    try {
      const meta = await input().metadata();
      // Formats a page cannot show (TIFF, BMP, HEIC, ...) become PNG; the others keep their format.
      const format = INLINE_IMAGES.has(sniffed)
        ? (sniffed.split('/')[1] as 'jpeg' | 'png' | 'webp' | 'gif' | 'avif')
        : 'png';
      const path = join(work, 'clean');
      // rotate() applies the EXIF orientation to the pixels; sharp writes no metadata unless asked.
      const info = await input().rotate().toFormat(format).toFile(path);
      const thumbnailPath = join(work, 'thumbnail');
      await input()
        .rotate()
        .resize(THUMBNAIL_PX, THUMBNAIL_PX, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 75 })
        .toFile(thumbnailPath);
      const pageHeight = meta.pageHeight && meta.pages && meta.pages > 1 ? meta.pageHeight : info.height;
      return {
        path,
        thumbnailPath,
        kind: 'image' as const,
        contentType: `image/${format}`,
        width: info.width,
        height: pageHeight,
      };
    } catch (err) {
      this.deps.logger.info({ err: (err as Error).message }, 'Image refused');
      throw new FileRouteError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'This image could not be read (damaged, too large, or an unsupported format).',
      );
    }
  }

  /**
   * What `userId` (or a valid signed URL) may download, or null: NOT_FOUND for every case of
   * "no", whether the file does not exist, the caller is no member, or the signature is bad.
   */
  async download(
    id: string,
    variant: Variant,
    who: { userId: string | null; query: { expires?: unknown; sig?: unknown } },
  ): Promise<Download | null> {
    let row: AttachmentRow | undefined;
    if (who.query.sig !== undefined) {
      if (!this.verify(`get:${variant}`, id, who.query)) return null;
      row = await findAttachment(this.deps.db, id);
      if (row?.state !== 'ready') return null;
    } else if (who.userId) {
      row = await findDownloadable(this.deps.db, id, who.userId);
    }
    if (!row) return null;
    if (variant === 'thumbnail') {
      return row.thumbnailKey ? { row, key: row.thumbnailKey, contentType: 'image/webp', inline: true } : null;
    }
    const contentType = row.contentType ?? 'application/octet-stream';
    const inline = row.kind === 'image' || row.kind === 'audio' || row.kind === 'video';
    return { row, key: row.storageKey, contentType, inline };
  }

  /** A download URL that needs no cookie or token, good for SIGNED_URL_TTL_MS, for one file. */
  async signedUrl(userId: string, attachmentId: string, variant: Variant, ttlMs = SIGNED_URL_TTL_MS) {
    const ok = await this.download(attachmentId, variant, { userId, query: {} });
    if (!ok) throw new NotFound('File not found.');
    const expires = Date.now() + ttlMs;
    const path = variant === 'thumbnail' ? `/files/${attachmentId}/thumbnail` : `/files/${attachmentId}`;
    return {
      url: `${path}?expires=${expires}&sig=${this.sign(`get:${variant}`, attachmentId, expires)}`,
      expiresAt: new Date(expires).toISOString(),
    };
  }

  get store() {
    return this.deps.store;
  }

  /**
   * THE deletion of files: the rows and their stored bytes. Called for deleted messages
   * (`{ messageIds }`), for a deleted account (`{ uploaderId }`: everything that user uploaded,
   * before the user row goes), and by the orphan sweeper (`{ ids }`). Pass the transaction the
   * rows should go in, if any; the bytes are deleted right after (a failure there is logged and
   * leaves unreachable bytes, never a row pointing at nothing).
   */
  async deleteFiles(where: FileSelector, db: Executor = this.deps.db) {
    const rows = await this.eraseInTransaction(db, where);
    await rows.deleteBytes();
    return { deleted: rows.count };
  }

  /**
   * The same deletion split around a caller's transaction: the rows go in `tx` now, the bytes
   * when the caller runs `deleteBytes` after its commit (messages.delete does so).
   */
  async eraseInTransaction(tx: Executor, where: FileSelector) {
    const keys = await deleteAttachmentRows(tx, where);
    const count = keys.filter((k) => k.endsWith('/file')).length;
    return { count, deleteBytes: () => this.deleteBytes(keys) };
  }

  async deleteBytes(keys: string[]) {
    if (keys.length === 0) return;
    try {
      await this.deps.store.delete(keys);
    } catch (err) {
      this.deps.logger.error({ err, keys: keys.length }, 'Could not delete stored files');
    }
  }

  /** Deletes uploads never sent (and claims whose message was never written) older than the TTL. */
  async sweep(now = Date.now()) {
    const before = new Date(now - this.deps.config.uploads.orphanTtlMs).toISOString();
    let total = 0;
    for (;;) {
      const ids = await orphanAttachmentIds(this.deps.db, before, 500);
      if (ids.length === 0) break;
      total += (await this.deleteFiles({ ids })).deleted;
      if (ids.length < 500) break;
    }
    await rm(this.tmpDir, { recursive: true, force: true }).catch(() => {});
    return total;
  }

  start() {
    // Left-over temporary files of a previous run are never needed again.
    void rm(this.tmpDir, { recursive: true, force: true }).catch(() => {});
    this.sweeper = setInterval(() => {
      this.sweep().catch((err: unknown) => this.deps.logger.error({ err }, 'Orphan upload sweep failed'));
    }, this.deps.config.uploads.sweepMs);
    this.sweeper.unref();
  }

  close() {
    if (this.sweeper) clearInterval(this.sweeper);
    this.deps.store.close();
  }

  private sign(scope: string, id: string, expires: number) {
    return createHmac('sha256', this.key).update(`${scope}:${id}:${expires}`).digest('base64url');
  }

  private verify(scope: string, id: string, query: { expires?: unknown; sig?: unknown }) {
    const expires = Number(query.expires);
    if (typeof query.sig !== 'string' || !Number.isSafeInteger(expires) || expires < Date.now()) return false;
    const want = Buffer.from(this.sign(scope, id, expires));
    const got = Buffer.from(query.sig);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

/**
 * The duration from the container's headers, when they say it (MP3, Ogg, WAV, MP4, FLAC...):
 * no full scan, so a recording that does not carry it (MediaRecorder's WebM) gets null.
 */
async function readDurationMs(path: string): Promise<number | null> {
  try {
    const { format } = await parseFile(path, { duration: false, skipCovers: true });
    return format.duration !== undefined && Number.isFinite(format.duration)
      ? Math.round(format.duration * 1000)
      : null;
  } catch {
    return null;
  }
}

function isMediaContainer(mime: string) {
  return ['video/webm', 'audio/webm', 'video/mp4', 'audio/mp4', 'audio/x-m4a', 'video/ogg', 'audio/ogg'].includes(mime);
}

export function formatBytes(n: number) {
  return n >= 1024 * 1024 ? `${Math.round(n / 1024 / 1024)} MiB` : `${Math.round(n / 1024)} KiB`;
}
