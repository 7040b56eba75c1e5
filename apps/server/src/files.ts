/**
 * The two file routes beside tRPC: the upload URL (a raw PUT body, streamed, never multipart) and
 * downloads. Downloads are served so they cannot run script in Parley's origin: nosniff, a
 * sandboxing CSP, and `attachment` for everything that is not an image, a video or audio.
 */
import { PassThrough } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCESS_COOKIE, FileRouteError, type Logger, type Services, type Variant } from '@parley/api';
import type { FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Nothing in a downloaded file may run, load, or frame anything. */
export const FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox";

type Params = { id: string };
type Query = { expires?: string; sig?: string };

function send(reply: FastifyReply, err: FileRouteError) {
  return reply.code(err.status).send({ error: { code: err.code, message: err.message } });
}

/** RFC 6266: an ASCII fallback and the exact name in UTF-8. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string) {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** One `bytes=` range of a file of `size` bytes: the range, 'unsatisfiable', or null for "whole file". */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges or another unit: answering the whole file is allowed (RFC 9110 14.2).
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

export async function registerFileRoutes(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>,
  services: Services,
) {
  const files = services.attachments;

  const userOf = async (req: FastifyRequest) => {
    const bearer = req.headers.authorization?.match(/^Bearer (.+)$/i)?.[1];
    const claims = await services.auth.authenticate(bearer ?? req.cookies[ACCESS_COOKIE]);
    return claims?.userId ?? null;
  };

  await app.register(async (scope) => {
    // The body is the file: no parser reads it (and so Fastify's 1 MiB body limit does not apply).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    scope.put<{ Params: Params; Querystring: Query }>('/files/uploads/:id', async (req, reply) => {
      if (!UUID.test(req.params.id)) return send(reply, new FileRouteError(404, 'NOT_FOUND', 'No such upload.'));
      const length = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
      // The request stream is piped through, not handed over: on a refusal the request stays
      // readable, so the answer can still be written before the connection closes.
      const body = new PassThrough();
      req.raw.pipe(body);
      req.raw.once('close', () => {
        if (!req.raw.readableEnded) body.destroy(new Error('Upload aborted by the client'));
      });
      try {
        const attachment = await files.receive(req.params.id, req.query, body, Number.isFinite(length) ? length : null);
        return reply.send({ attachment });
      } catch (err) {
        if (!(err instanceof FileRouteError)) throw err;
        if (!req.raw.readableEnded) {
          // The rest of the body is not wanted: drop it and close the connection after answering.
          req.raw.unpipe(body);
          req.raw.resume();
          reply.header('connection', 'close');
        }
        return send(reply, err);
      }
    });
  });

  const download =
    (variant: Variant) => async (req: FastifyRequest<{ Params: Params; Querystring: Query }>, reply: FastifyReply) => {
      const notFound = () => send(reply, new FileRouteError(404, 'NOT_FOUND', 'File not found.'));
      if (!UUID.test(req.params.id)) return notFound();
      const signed = req.query.sig !== undefined;
      const found = await files.download(req.params.id, variant, {
        userId: signed ? null : await userOf(req),
        query: req.query,
      });
      if (!found) return notFound();
      const size = await files.store.size(found.key);
      if (size === null) return notFound();
      const range = parseRange(req.headers.range, size);
      reply
        .header('content-type', found.contentType)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', FILE_CSP)
        .header('content-disposition', contentDisposition(found.inline ? 'inline' : 'attachment', found.row.name))
        .header('accept-ranges', 'bytes')
        // The bytes behind an id never change; only members ever got them.
        .header('cache-control', 'private, max-age=86400')
        .header('etag', `"${found.row.id}-${variant}"`);
      if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${size}`).send();
      const stream = await files.store.get(found.key, range ?? undefined);
      if (!stream) return notFound();
      if (range) {
        reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
        reply.header('content-length', range.end - range.start + 1);
      } else reply.header('content-length', size);
      return reply.send(stream);
    };
  app.get('/files/:id', download('file'));
  app.get('/files/:id/thumbnail', download('thumbnail'));
}
