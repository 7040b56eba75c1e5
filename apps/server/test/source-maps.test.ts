/**
 * The web build makes source maps; a production server never serves them (the app itself still is).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateVapidKeys } from '@parley/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

describe('source maps in production', () => {
  let t: TestServer;
  let dist: string;
  beforeAll(async () => {
    dist = mkdtempSync(join(tmpdir(), 'parley-dist-'));
    writeFileSync(join(dist, 'index.html'), '<!doctype html><title>Parley</title>');
    writeFileSync(join(dist, 'app.js'), 'console.log(1);\n//# sourceMappingURL=app.js.map');
    writeFileSync(join(dist, 'app.js.map'), '{"version":3,"sources":["secret-source.ts"]}');
    const vapid = generateVapidKeys();
    t = await startTestServer({
      db: 'pglite',
      env: {
        NODE_ENV: 'production',
        ALLOWED_ORIGINS: 'https://parley.example',
        BCRYPT_COST: '12',
        WEB_DIST_DIR: dist,
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        VAPID_SUBJECT: 'mailto:ops@parley.example',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(dist, { recursive: true, force: true });
  });

  it('serves the app but not its source maps', async () => {
    expect((await fetch(`${t.url}/app.js`)).status).toBe(200);
    const map = await fetch(`${t.url}/app.js.map`);
    expect(map.status).toBe(404);
    expect(await map.text()).not.toContain('secret-source');
    expect((await fetch(`${t.url}/app.js.map?x=1`)).status).toBe(404);
  });
});
