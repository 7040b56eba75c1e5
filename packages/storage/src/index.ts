/**
 * Where file bytes live: one small interface, a folder on disk by default and any S3-compatible
 * store for deployments (several instances must share one store: a folder works only when
 * every instance mounts the same one). Keys are chosen by the caller (opaque, no user input).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/** Inclusive byte range, as in an HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface FileStore {
  readonly kind: 'disk' | 's3';
  /** Stores the bytes of a local file under `key` (streamed, never read whole). */
  put(key: string, localPath: string, contentType: string): Promise<void>;
  /** The stored bytes (or a range of them); null if there is no such key. */
  get(key: string, range?: ByteRange): Promise<Readable | null>;
  /** Size in bytes, or null if there is no such key. */
  size(key: string): Promise<number | null>;
  /** Deletes the keys; keys that do not exist are no error. */
  delete(keys: string[]): Promise<void>;
  close(): void;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9/_.-]{0,200}$/;
function checkKey(key: string) {
  if (!KEY.test(key) || key.includes('..')) throw new Error(`Invalid storage key: ${key}`);
}

export class DiskStore implements FileStore {
  readonly kind = 'disk';
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string) {
    checkKey(key);
    const path = join(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new Error(`Invalid storage key: ${key}`);
    return path;
  }

  async put(key: string, localPath: string) {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    // Written beside the target and renamed: a reader never sees half a file.
    const part = `${path}.${process.pid}.${Date.now()}.part`;
    try {
      await pipeline(createReadStream(localPath), createWriteStream(part, { flags: 'wx' }));
      await rename(part, path);
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
  }

  async get(key: string, range?: ByteRange) {
    const path = this.path(key);
    if ((await this.size(key)) === null) return null;
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async size(key: string) {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? s.size : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(keys: string[]) {
    await Promise.all(keys.map((k) => rm(this.path(k), { force: true })));
  }

  close() {}
}

export interface S3Options {
  bucket: string;
  endpoint?: string | undefined;
  region: string;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** Path-style addressing (http://host/bucket/key): what MinIO, Garage, SeaweedFS and s3rver expect. */
  forcePathStyle: boolean;
}

export class S3Store implements FileStore {
  readonly kind = 's3';
  readonly client: S3Client;

  constructor(private readonly opts: S3Options) {
    this.client = new S3Client({
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      // Checksums only where S3 requires them: the default sends streamed bodies as aws-chunked
      // with trailing checksums, which many S3-compatible stores (and s3rver) store verbatim.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.accessKeyId && opts.secretAccessKey
        ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } }
        : {}),
    });
  }

  async put(key: string, localPath: string, contentType: string) {
    checkKey(key);
    const { size } = await stat(localPath);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.opts.bucket,
        Key: key,
        Body: createReadStream(localPath),
        ContentLength: size,
        ContentType: contentType,
      }),
    );
  }

  async get(key: string, range?: ByteRange) {
    checkKey(key);
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.opts.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      // In Node the SDK's body is an http.IncomingMessage, a Readable.
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async size(key: string) {
    checkKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.opts.bucket, Key: key }));
      return out.ContentLength ?? 0;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(keys: string[]) {
    keys.forEach(checkKey);
    for (let i = 0; i < keys.length; i += 1000) {
      await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.opts.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }

  close() {
    this.client.destroy();
  }
}

function isMissing(err: unknown) {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export type StorageConfig = { kind: 'disk'; dir: string } | ({ kind: 's3' } & S3Options);

export function createFileStore(config: StorageConfig): FileStore {
  return config.kind === 'disk' ? new DiskStore(config.dir) : new S3Store(config);
}
