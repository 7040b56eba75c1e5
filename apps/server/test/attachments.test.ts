/**
 * Files end to end over HTTP, on PGlite with the folder store and on PostgreSQL with an
 * S3-compatible store (s3rver on a free port): upload by the signed URL, send, download by
 * cookie/bearer or signed URL; size limit, type sniffing, EXIF stripping, access, Range,
 * orphan sweeping and deletion.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { followEvents, type ParleyEvent } from '@parley/client';
import S3rver from 's3rver';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, errorCode, signUp, startTestServer, waitFor, type DbKind, type TestServer } from './helpers.js';

const MAX = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A minimal valid PDF header is enough for type sniffing. */
const pdf = (n: number) => Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(n)]);

async function startS3() {
  const dir = mkdtempSync(join(tmpdir(), 'parley-s3-'));
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: 'parley-files' }],
  });
  const { port } = (await s3.run()) as { port: number };
  return {
    env: {
      STORAGE: 's3',
      S3_BUCKET: 'parley-files',
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
    },
    async close() {
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const combos: [DbKind, 'disk' | 's3'][] = [
  ['pglite', 'disk'],
  [DB_KINDS.includes('postgres') ? 'postgres' : 'pglite', 's3'],
];

describe.each(combos)('attachments on %s with %s storage', (db, storage) => {
  let t: TestServer;
  let s3: Awaited<ReturnType<typeof startS3>> | null = null;
  beforeAll(async () => {
    if (storage === 's3') s3 = await startS3();
    t = await startTestServer({ db, env: { MAX_UPLOAD_BYTES: String(MAX), ...(s3?.env ?? {}) } });
  });
  afterAll(async () => {
    await t?.close();
    await s3?.close();
  });

  const files = () => t.server.services.attachments;
  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

  async function pair() {
    const a = await signUp(t, 'Ada');
    const b = await signUp(t, 'Bob');
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    return { a, b, conv };
  }

  async function upload(
    who: Awaited<ReturnType<typeof signUp>>,
    conversationId: string | undefined,
    bytes: Buffer,
    name: string,
    contentType: string,
  ) {
    const slot = await who.client.api.attachments.createUpload.mutate({
      conversationId,
      name,
      size: bytes.length,
      contentType,
    });
    const res = await fetch(`${t.url}${slot.uploadUrl}`, {
      method: slot.method,
      headers: slot.headers,
      body: new Blob([new Uint8Array(bytes)]),
    });
    return {
      slot,
      res,
      body: (await res.json()) as {
        attachment?: { id: string; kind: string; contentType: string };
        error?: { code: string };
      },
    };
  }

  it('uploads, sends and downloads the same bytes; the message carries the file live and in replay', async () => {
    const { a, b, conv } = await pair();
    const received: ParleyEvent[] = [];
    let started = false;
    const follower = followEvents(b.client.api, {
      onEvent: (e) => received.push(e),
      onStarted: () => (started = true),
    });
    await waitFor(() => started);
    // The stream's starting position (its `ready`): replaying from it must bring the message again.
    const before = follower.lastEventId;
    const bytes = pdf(300_000);
    const { slot, res, body } = await upload(a, conv.id, bytes, 'Report 2026 – ü.pdf', 'application/pdf');
    expect(res.status).toBe(200);
    expect(body.attachment).toMatchObject({ id: slot.attachmentId, kind: 'file', contentType: 'application/pdf' });
    expect(new Date(slot.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const sent = await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: '',
      attachmentIds: [slot.attachmentId],
    });
    expect(sent.body).toBe('');
    expect(sent.attachments).toEqual([
      {
        id: slot.attachmentId,
        name: 'Report 2026 – ü.pdf',
        size: bytes.length,
        contentType: 'application/pdf',
        kind: 'file',
        width: null,
        height: null,
        durationMs: null,
        url: `/files/${slot.attachmentId}`,
        thumbnailUrl: null,
      },
    ]);
    const listed = await b.client.api.messages.list.query({ conversationId: conv.id });
    expect(listed.items.at(-1)!.attachments).toEqual(sent.attachments);
    const live = await waitFor(() => received.find((e) => e.type === 'message.new' && e.message.id === sent.id));
    expect(live.type === 'message.new' && live.message.attachments).toEqual(sent.attachments);
    follower.stop();
    const replayed: ParleyEvent[] = [];
    const replay = followEvents(b.client.api, { lastEventId: before, onEvent: (e) => replayed.push(e) });
    const again = await waitFor(() => replayed.find((e) => e.type === 'message.new' && e.message.id === sent.id));
    replay.stop();
    expect(again.type === 'message.new' && again.message.attachments).toEqual(sent.attachments);
    const [convo] = (await b.client.api.conversations.list.query()).items;
    expect(convo!.lastMessage!.attachments).toEqual(sent.attachments);

    const download = await get(sent.attachments[0]!.url, b.accessToken);
    expect(download.status).toBe(200);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(sha256(bytes));
    expect(download.headers.get('content-type')).toBe('application/pdf');
    expect(download.headers.get('content-disposition')).toBe(
      `attachment; filename="Report 2026 _ _.pdf"; filename*=UTF-8''${encodeURIComponent('Report 2026 – ü.pdf')}`,
    );
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('content-security-policy')).toContain('sandbox');
    expect(download.headers.get('content-security-policy')).toContain("default-src 'none'");

    // The same clientId again answers the original message, files included; the files cannot go twice.
    const retry = await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: sent.clientId,
      body: '',
      attachmentIds: [slot.attachmentId],
    });
    expect(retry).toEqual(sent);
    expect(
      await errorCode(
        a.client.api.messages.send.mutate({
          conversationId: conv.id,
          clientId: randomUUID(),
          body: 'x',
          attachmentIds: [slot.attachmentId],
        }),
      ),
    ).toBe('NOT_FOUND');
  });

  it("refuses bad attachment lists and other people's uploads, changing nothing", async () => {
    const { a, b, conv } = await pair();
    const { slot } = await upload(b, conv.id, pdf(100), 'b.pdf', 'application/pdf');
    const send = (attachmentIds: string[], body = '') =>
      errorCode(
        a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body, attachmentIds }),
      );
    expect(await send([slot.attachmentId])).toBe('NOT_FOUND');
    expect(await send([])).toBe('BAD_REQUEST');
    expect(await send(Array.from({ length: 11 }, () => randomUUID()))).toBe('BAD_REQUEST');
    expect(await send([slot.attachmentId, slot.attachmentId])).toBe('BAD_REQUEST');
    // An upload whose bytes never came is not ready to send.
    const pending = await a.client.api.attachments.createUpload.mutate({
      conversationId: conv.id,
      name: 'x.pdf',
      size: 10,
      contentType: 'application/pdf',
    });
    expect(await send([pending.attachmentId], 'hi')).toBe('NOT_FOUND');
    // b's upload is still b's to send.
    const ok = await b.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: 'mine',
      attachmentIds: [slot.attachmentId],
    });
    expect(ok.attachments).toHaveLength(1);
  });

  it('refuses a file over the limit, declared or streamed, and keeps nothing', async () => {
    const { a, conv } = await pair();
    expect(
      await errorCode(
        a.client.api.attachments.createUpload.mutate({
          conversationId: conv.id,
          name: 'big.bin',
          size: MAX + 1,
          contentType: 'application/octet-stream',
        }),
      ),
    ).toBe('PAYLOAD_TOO_LARGE');
    // Default limit, as documented: 25 MiB.
    expect(
      (await import('@parley/config')).loadConfig({ JWT_SECRET: 'x'.repeat(32), TURN_SECRET: 'y'.repeat(16) }).uploads
        .maxBytes,
    ).toBe(25 * 1024 * 1024);

    const big = randomBytes(MAX + 200_000);
    // Exactly the limit is fine.
    expect((await upload(a, conv.id, big.subarray(0, MAX), 'a.bin', 'application/octet-stream')).res.status).toBe(200);
    // Declares a small size, then sends more than the limit: with Content-Length, refused unread.
    const slot1 = await a.client.api.attachments.createUpload.mutate({
      conversationId: conv.id,
      name: 'a.bin',
      size: 10,
      contentType: 'application/octet-stream',
    });
    const r1 = await fetch(`${t.url}${slot1.uploadUrl}`, { method: 'PUT', body: new Blob([new Uint8Array(big)]) });
    expect(r1.status).toBe(413);
    expect(((await r1.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    // Without a length (chunked), counted as it streams and cut off at the limit.
    const slot2 = await a.client.api.attachments.createUpload.mutate({
      conversationId: conv.id,
      name: 'b.bin',
      size: 10,
      contentType: 'application/octet-stream',
    });
    const chunks = Readable.from(
      (function* () {
        for (let i = 0; i < big.length; i += 64 * 1024) yield big.subarray(i, i + 64 * 1024);
      })(),
    );
    const r2 = await fetch(`${t.url}${slot2.uploadUrl}`, {
      method: 'PUT',
      body: Readable.toWeb(chunks) as ReadableStream,
      // @ts-expect-error -- undici needs `duplex` for a stream body; the DOM RequestInit type lacks it.
      duplex: 'half',
    }).catch((err: unknown) => err);
    // The answer is 413; a client still sending may instead see the connection close under it.
    if (r2 instanceof Response) expect(r2.status).toBe(413);
    for (const slot of [slot1, slot2]) {
      expect(await files().store.size(`a/${slot.attachmentId}/file`)).toBeNull();
      expect(await errorCode(a.client.api.attachments.signedUrl.query({ attachmentId: slot.attachmentId }))).toBe(
        'NOT_FOUND',
      );
    }
    expect(readdirSync(join(t.config.dataDir, 'uploads-tmp'))).toEqual([]);
  });

  it('decides the type from the bytes: a script named .png is refused, other mislabelled files are download-only', async () => {
    const { a, b, conv } = await pair();
    const script = Buffer.from('#!/bin/sh\necho pwned\n<script>alert(1)</script>\n');
    const refused = await upload(a, conv.id, script, 'cat.png', 'image/png');
    expect(refused.res.status).toBe(415);
    expect(await files().store.size(`a/${refused.slot.attachmentId}/file`)).toBeNull();
    expect(
      await errorCode(
        a.client.api.messages.send.mutate({
          conversationId: conv.id,
          clientId: randomUUID(),
          body: '',
          attachmentIds: [refused.slot.attachmentId],
        }),
      ),
    ).toBe('NOT_FOUND');

    const html = await upload(
      a,
      conv.id,
      Buffer.from('<html><script>alert(document.cookie)</script></html>'),
      'page.html',
      'text/html',
    );
    expect(html.res.status).toBe(200);
    expect(html.body.attachment).toMatchObject({ kind: 'file', contentType: 'application/octet-stream' });
    const m = await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: '',
      attachmentIds: [html.slot.attachmentId],
    });
    const res = await get(m.attachments[0]!.url, b.accessToken);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
  });

  it('reads the duration of audio from its headers', async () => {
    const { a, conv } = await pair();
    // 1.5 s of silence, 8 kHz mono 16-bit PCM: a WAV header and its samples.
    const samples = Buffer.alloc(8000 * 2 * 1.5);
    const header = Buffer.alloc(44);
    header.write('RIFF', 0);
    header.writeUInt32LE(36 + samples.length, 4);
    header.write('WAVEfmt ', 8);
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(8000, 24);
    header.writeUInt32LE(16000, 28);
    header.writeUInt16LE(2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36);
    header.writeUInt32LE(samples.length, 40);
    const { res, slot } = await upload(a, conv.id, Buffer.concat([header, samples]), 'note.wav', 'audio/wav');
    expect(res.status).toBe(200);
    const m = await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: '',
      attachmentIds: [slot.attachmentId],
    });
    expect(m.attachments[0]).toMatchObject({ kind: 'audio', durationMs: 1500, width: null, thumbnailUrl: null });
    expect(m.attachments[0]!.contentType).toMatch(/^audio\/(wav|vnd\.wave|x-wav)$/);
  });

  it('strips EXIF and GPS from images, gives width, height and a thumbnail', async () => {
    const { a, b, conv } = await pair();
    const jpeg = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#3366cc' } })
      .withExif({
        IFD0: { Copyright: 'ParleySecretMaker', Artist: 'ParleySecretArtist' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '52/1 31/1 0/1' },
      })
      .jpeg()
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    expect(jpeg.includes('ParleySecret')).toBe(true);
    const { slot, res } = await upload(a, conv.id, jpeg, 'holiday.jpg', 'image/jpeg');
    expect(res.status).toBe(200);
    const m = await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: 'look',
      attachmentIds: [slot.attachmentId],
    });
    const att = m.attachments[0]!;
    expect(att).toMatchObject({
      kind: 'image',
      contentType: 'image/jpeg',
      width: 1200,
      height: 800,
      thumbnailUrl: `/files/${slot.attachmentId}/thumbnail`,
    });

    const down = await get(att.url, b.accessToken);
    expect(down.headers.get('content-disposition')).toMatch(/^inline;/);
    const bytes = Buffer.from(await down.arrayBuffer());
    expect(bytes.length).toBe(att.size);
    const meta = await sharp(bytes).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.format).toBe('jpeg');
    expect(bytes.includes('ParleySecret')).toBe(false);

    const thumb = await get(att.thumbnailUrl!, b.accessToken);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const tmeta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([tmeta.width, tmeta.height, tmeta.exif]).toEqual([320, 213, undefined]);
  });

  it('serves Range requests', async () => {
    const { a, b, conv } = await pair();
    const bytes = pdf(5000);
    const { slot } = await upload(a, conv.id, bytes, 'r.pdf', 'application/pdf');
    await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: '',
      attachmentIds: [slot.attachmentId],
    });
    const url = `/files/${slot.attachmentId}`;
    const part = await get(url, b.accessToken, { range: 'bytes=100-199' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(100, 200));
    const tail = await get(url, b.accessToken, { range: 'bytes=-10' });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 10));
    const open = await get(url, b.accessToken, { range: `bytes=${bytes.length - 5}-` });
    expect(Buffer.from(await open.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 5));
    const beyond = await get(url, b.accessToken, { range: `bytes=${bytes.length}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    expect((await get(url, b.accessToken)).headers.get('accept-ranges')).toBe('bytes');
  });

  it('answers NOT_FOUND to non-members for every URL shape, and refuses expired or tampered signed URLs', async () => {
    const { a, b, conv } = await pair();
    const c = await signUp(t, 'Cy');
    const png = await sharp({ create: { width: 40, height: 30, channels: 4, background: '#ff0000' } })
      .png()
      .toBuffer();
    const { slot } = await upload(a, conv.id, png, 'p.png', 'image/png');
    const id = slot.attachmentId;
    // Before it is sent only the uploader sees it.
    expect((await get(`/files/${id}`, a.accessToken)).status).toBe(200);
    expect((await get(`/files/${id}`, b.accessToken)).status).toBe(404);
    await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: '',
      attachmentIds: [id],
    });
    expect((await get(`/files/${id}`, b.accessToken)).status).toBe(200);
    // Cookies work as well as bearer tokens (the browser's img and audio elements send them).
    const cookie = `parley_access=${b.accessToken}`;
    expect((await get(`/files/${id}/thumbnail`, undefined, { cookie })).status).toBe(200);

    const signed = await a.client.api.attachments.signedUrl.query({ attachmentId: id });
    const signedThumb = await b.client.api.attachments.signedUrl.query({ attachmentId: id, thumbnail: true });
    expect((await get(signed.url)).status).toBe(200);
    expect((await get(signedThumb.url)).status).toBe(200);

    for (const path of [`/files/${id}`, `/files/${id}/thumbnail`]) {
      expect((await get(path, c.accessToken)).status).toBe(404);
      expect((await get(path)).status).toBe(404);
      expect((await get(path, undefined, { cookie: `parley_access=${c.accessToken}` })).status).toBe(404);
    }
    expect(await errorCode(c.client.api.attachments.signedUrl.query({ attachmentId: id }))).toBe('NOT_FOUND');
    expect(await errorCode(c.client.api.attachments.signedUrl.query({ attachmentId: id, thumbnail: true }))).toBe(
      'NOT_FOUND',
    );
    expect((await get(`/files/${randomUUID()}`, b.accessToken)).status).toBe(404);
    expect((await get('/files/not-a-uuid', b.accessToken)).status).toBe(404);

    const u = new URL(signed.url, t.url);
    const tampered = (f: (p: URLSearchParams) => void) => {
      const copy = new URL(u);
      f(copy.searchParams);
      return `${copy.pathname}${copy.search}`;
    };
    const sig = u.searchParams.get('sig')!;
    expect(
      (await get(tampered((p) => p.set('sig', sig.slice(0, -2) + (sig.endsWith('AA') ? 'BB' : 'AA'))))).status,
    ).toBe(404);
    expect((await get(tampered((p) => p.set('expires', String(Number(p.get('expires')) + 60_000))))).status).toBe(404);
    // Bound to one file and one variant: not another file's, not the thumbnail's.
    const other = await upload(a, conv.id, pdf(10), 'o.pdf', 'application/pdf');
    expect((await get(`/files/${other.slot.attachmentId}${u.search}`)).status).toBe(404);
    expect((await get(`/files/${id}/thumbnail${u.search}`)).status).toBe(404);
    // Expired: signed in the past.
    const expired = await files().signedUrl(a.user.id, id, 'file', -1000);
    expect((await get(expired.url)).status).toBe(404);

    // Upload URLs: expired, tampered, or another upload's.
    const fresh = await a.client.api.attachments.createUpload.mutate({
      conversationId: conv.id,
      name: 'n.pdf',
      size: 20,
      contentType: 'application/pdf',
    });
    const put = (path: string) =>
      fetch(`${t.url}${path}`, { method: 'PUT', body: new Blob([new Uint8Array(pdf(10))]) });
    expect((await put(files().uploadUrl(fresh.attachmentId, -1000).url)).status).toBe(403);
    const fu = new URL(fresh.uploadUrl, t.url);
    expect((await put(`/files/uploads/${other.slot.attachmentId}${fu.search}`)).status).toBe(403);
    expect(
      (
        await put(
          `${fu.pathname}?expires=${fu.searchParams.get('expires')}&sig=x${fu.searchParams.get('sig')!.slice(1)}`,
        )
      ).status,
    ).toBe(403);
    // A non-member cannot even ask for an upload slot in the conversation.
    expect(
      await errorCode(
        c.client.api.attachments.createUpload.mutate({
          conversationId: conv.id,
          name: 'x.pdf',
          size: 1,
          contentType: 'application/pdf',
        }),
      ),
    ).toBe('NOT_FOUND');
    // And the real one still works once, then is closed.
    expect((await put(fresh.uploadUrl)).status).toBe(200);
    expect((await put(fresh.uploadUrl)).status).toBe(409);
  });

  it("sweeps uploads never sent, and deleteFiles removes a message's bytes", async () => {
    const { a, b, conv } = await pair();
    const orphan = await upload(a, conv.id, pdf(1000), 'orphan.pdf', 'application/pdf');
    const kept = await upload(a, conv.id, pdf(1000), 'kept.pdf', 'application/pdf');
    const m = await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: '',
      attachmentIds: [kept.slot.attachmentId],
    });
    const key = (id: string) => `a/${id}/file`;
    expect(await files().store.size(key(orphan.slot.attachmentId))).toBe(1009);
    // Not yet old enough.
    await files().sweep();
    expect(await files().store.size(key(orphan.slot.attachmentId))).toBe(1009);
    await files().sweep(Date.now() + t.config.uploads.orphanTtlMs + 1000);
    expect(await files().store.size(key(orphan.slot.attachmentId))).toBeNull();
    expect((await get(`/files/${orphan.slot.attachmentId}`, a.accessToken)).status).toBe(404);
    expect(await files().store.size(key(kept.slot.attachmentId))).toBe(1009);
    expect((await get(m.attachments[0]!.url, b.accessToken)).status).toBe(200);
    // The one deletion, as messages.delete and auth.deleteAccount call it.
    expect(await files().deleteFiles({ messageIds: [m.id] })).toEqual({ deleted: 1 });
    expect(await files().store.size(key(kept.slot.attachmentId))).toBeNull();
    expect((await get(m.attachments[0]!.url, b.accessToken)).status).toBe(404);
    expect((await b.client.api.messages.list.query({ conversationId: conv.id })).items.at(-1)!.attachments).toEqual([]);

    // messages.delete erases the files with the message.
    const again = await upload(a, conv.id, pdf(1000), 'again.pdf', 'application/pdf');
    const m2 = await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: 'bye',
      attachmentIds: [again.slot.attachmentId],
    });
    expect(await files().store.size(key(again.slot.attachmentId))).toBe(1009);
    await a.client.api.messages.delete.mutate({ messageId: m2.id });
    expect(await files().store.size(key(again.slot.attachmentId))).toBeNull();
    expect((await get(m2.attachments[0]!.url, b.accessToken)).status).toBe(404);
    const tomb = (await b.client.api.messages.list.query({ conversationId: conv.id })).items.find(
      (x) => x.id === m2.id,
    )!;
    expect([tomb.deletedAt !== null, tomb.attachments]).toEqual([true, []]);
  });

  it('sets a profile picture anyone signed in can load; replacing it deletes the old one', async () => {
    const a = await signUp(t, 'Avatar');
    const stranger = await signUp(t, 'Stranger');
    const img = (color: string) =>
      sharp({ create: { width: 500, height: 500, channels: 3, background: color } })
        .jpeg()
        .toBuffer();
    const first = await upload(a, undefined, await img('#00ff00'), 'me.jpg', 'image/jpeg');
    expect(await errorCode(a.client.api.users.updateProfile.mutate({ avatarAttachmentId: randomUUID() }))).toBe(
      'NOT_FOUND',
    );
    expect(
      await errorCode(stranger.client.api.users.updateProfile.mutate({ avatarAttachmentId: first.slot.attachmentId })),
    ).toBe('NOT_FOUND');
    expect(
      await errorCode(
        a.client.api.attachments.createUpload.mutate({ name: 'x.pdf', size: 10, contentType: 'application/pdf' }),
      ),
    ).toBe('BAD_REQUEST');
    const me = await a.client.api.users.updateProfile.mutate({ avatarAttachmentId: first.slot.attachmentId });
    expect(me.avatarUrl).toBe(`/files/${first.slot.attachmentId}/thumbnail`);
    const seen = await stranger.client.api.users.byId.query({ id: a.user.id });
    expect(seen.avatarUrl).toBe(me.avatarUrl);
    expect((await get(seen.avatarUrl!, stranger.accessToken)).status).toBe(200);
    expect((await get(seen.avatarUrl!)).status).toBe(404);

    const second = await upload(a, undefined, await img('#0000ff'), 'me2.jpg', 'image/jpeg');
    await a.client.api.users.updateProfile.mutate({ avatarAttachmentId: second.slot.attachmentId });
    expect(await files().store.size(`a/${first.slot.attachmentId}/file`)).toBeNull();
    expect((await a.client.api.users.updateProfile.mutate({ avatarAttachmentId: null })).avatarUrl).toBeNull();
  });

  it('auth.deleteAccount deletes everything the account uploaded, picture included', async () => {
    const { a, b, conv } = await pair();
    const sent = await upload(a, conv.id, pdf(500), 'mine.pdf', 'application/pdf');
    await a.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: randomUUID(),
      body: '',
      attachmentIds: [sent.slot.attachmentId],
    });
    const unsent = await upload(a, conv.id, pdf(500), 'draft.pdf', 'application/pdf');
    const picture = await upload(
      a,
      undefined,
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123456' } })
        .png()
        .toBuffer(),
      'me.png',
      'image/png',
    );
    await a.client.api.users.updateProfile.mutate({ avatarAttachmentId: picture.slot.attachmentId });
    const theirs = await upload(b, conv.id, pdf(500), 'theirs.pdf', 'application/pdf');
    await a.client.api.auth.deleteAccount.mutate({ password: a.password });
    for (const id of [sent.slot.attachmentId, unsent.slot.attachmentId, picture.slot.attachmentId]) {
      expect(await files().store.size(`a/${id}/file`)).toBeNull();
    }
    expect(await files().store.size(`a/${picture.slot.attachmentId}/thumbnail`)).toBeNull();
    expect(await files().store.size(`a/${theirs.slot.attachmentId}/file`)).toBe(509);
    expect((await b.client.api.users.byId.query({ id: a.user.id })).avatarUrl).toBeNull();
  });
});
