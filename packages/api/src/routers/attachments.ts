import { createUploadInput, signedUrlInput } from '@parley/validators';
import { authedProcedure, limited, RATE_LIMITS, router } from '../trpc.js';

export const attachmentsRouter = router({
  createUpload: authedProcedure
    .use(limited('upload', RATE_LIMITS.upload, 'user'))
    .input(createUploadInput)
    .mutation(({ ctx, input }) => ctx.services.attachments.createUpload(ctx.auth.userId, input)),

  signedUrl: authedProcedure
    .input(signedUrlInput)
    .query(({ ctx, input }) =>
      ctx.services.attachments.signedUrl(ctx.auth.userId, input.attachmentId, input.thumbnail ? 'thumbnail' : 'file'),
    ),
});
