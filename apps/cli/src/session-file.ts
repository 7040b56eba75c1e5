/**
 * The signed-in session, kept between runs in the OS's config folder, readable by the user alone
 * (folder 0700, file 0600): it holds a refresh cookie, which is as good as a password for 7 days.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const savedSession = z.object({
  server: z.url(),
  userId: z.string(),
  email: z.string(),
  displayName: z.string(),
  accessToken: z.string().nullable(),
  accessTokenExpiresAt: z.string().nullable(),
  cookies: z.record(z.string(), z.string()),
});
export type SavedSession = z.infer<typeof savedSession>;

export class SessionFile {
  readonly path: string;

  constructor(private readonly dir: string) {
    this.path = join(dir, 'session.json');
  }

  read(): SavedSession | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return null;
    }
    const parsed = savedSession.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  }

  write(session: SavedSession) {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileSync(this.path, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
    // `mode` only applies when the file is created: tighten one left by an older version too.
    chmodSync(this.path, 0o600);
  }

  remove() {
    rmSync(this.path, { force: true });
  }
}
