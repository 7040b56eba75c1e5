/**
 * The deployment files agree with each other and with the server: docker-compose.yml is accepted
 * by Docker Compose (v2 plugin or docker-compose 1.x, whichever is installed; there is no Docker
 * engine here, `config` needs none) and has the shape the deployment issue asks for; .env.example
 * explains every variable the compose file and the server read; nginx balances exactly the
 * compose file's instances, without stickiness.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@parley/test-helpers';
import { generateVapidKeys, loadConfig } from '@parley/config';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = REPO_ROOT;
const read = (path: string) => readFileSync(join(REPO, path), 'utf8');
const COMPOSE = read('docker-compose.yml');
const ENV_EXAMPLE = read('.env.example');
const NGINX = read('deploy/nginx/nginx.conf');

/** `.env.example` as name → value, keeping the order. */
function parseEnv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = line.match(/^([A-Z][A-Z0-9_]*)=(.*)$/);
    if (m) vars.set(m[1]!, m[2]!);
  }
  return vars;
}
const EXAMPLE = parseEnv(ENV_EXAMPLE);

/** `${NAME}`, `${NAME:-default}`, `${NAME:?message}` in the compose file (`$${NAME}` is a literal `$`). */
const composeVariables = () => [
  ...new Set([...COMPOSE.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)),
];
const composeInstances = () => [...COMPOSE.matchAll(/^ {2}(server-\d+):\s*$/gm)].map((m) => m[1]!);

/** The names packages/config's schema reads from the environment. */
function configVariables(): string[] {
  const source = read('packages/config/src/index.ts');
  const schema = source.slice(
    source.indexOf('const envSchema = z.object({'),
    source.indexOf('});', source.indexOf('const envSchema')),
  );
  return [...schema.matchAll(/^ {2}([A-Z][A-Z0-9_]*): z\./gm)].map((m) => m[1]!);
}

const vapid = generateVapidKeys();
/** A key pair has a format of its own; every other secret is random text. */
const placeholderValue = (name: string) =>
  name === 'VAPID_PUBLIC_KEY'
    ? vapid.publicKey
    : name === 'VAPID_PRIVATE_KEY'
      ? vapid.privateKey
      : randomBytes(24).toString('hex');

/** An .env for the checks below: the example with its placeholders replaced by real-looking secrets. */
function envFile(omit: string[] = []): string {
  return [...EXAMPLE]
    .filter(([name]) => !omit.includes(name))
    .map(([name, value]) => `${name}=${value.startsWith('CHANGE-ME') ? placeholderValue(name) : value}`)
    .join('\n');
}

describe('.env.example', () => {
  it('explains every variable the compose file and the server read, each under a comment', () => {
    const needed = [...composeVariables(), ...configVariables()];
    expect(configVariables()).toContain('DATABASE_POOL_SIZE');
    expect(composeVariables()).toContain('TURN_SECRET');
    expect(needed.filter((name) => !EXAMPLE.has(name))).toEqual([]);

    // Every variable (or group of consecutive ones) has a comment right above it.
    const lines = ENV_EXAMPLE.split('\n');
    const unexplained = lines.flatMap((line, i) => {
      const name = line.match(/^([A-Z][A-Z0-9_]*)=/)?.[1];
      if (!name) return [];
      let j = i - 1;
      while (j >= 0 && /^[A-Z][A-Z0-9_]*=/.test(lines[j]!)) j--;
      return j >= 0 && lines[j]!.startsWith('#') ? [] : [name];
    });
    expect(unexplained).toEqual([]);
  });

  it('holds values the server accepts in production once the placeholders are filled in', () => {
    const config = loadConfig(Object.fromEntries(parseEnv(envFile())));
    expect(config.isProduction).toBe(true);
    expect(config.turn.urls.length).toBeGreaterThan(0);
    expect(config.allowedOrigins).toEqual([EXAMPLE.get('ALLOWED_ORIGINS')]);
    // The placeholders themselves must never be mistaken for secrets: they say CHANGE-ME.
    expect(EXAMPLE.get('JWT_SECRET')).toMatch(/^CHANGE-ME/);
    expect(EXAMPLE.get('TURN_SECRET')).toMatch(/^CHANGE-ME/);
    expect(EXAMPLE.get('POSTGRES_PASSWORD')).toMatch(/^CHANGE-ME/);
  });
});

describe('deploy/nginx/nginx.conf', () => {
  it("balances exactly the compose file's instances, with no sticky sessions, and upgrades WebSockets", () => {
    const upstream = NGINX.match(/upstream parley \{([^}]*)\}/)?.[1] ?? '';
    const servers = [...upstream.matchAll(/^\s*server (server-\d+):3000\b/gm)].map((m) => m[1]);
    expect(composeInstances()).toEqual(['server-1', 'server-2']);
    expect(servers).toEqual(composeInstances());
    expect(upstream).not.toMatch(/^\s*(ip_hash|hash|sticky)\b/m);
    // The proxy headers are set once for the HTTPS server: a location with a proxy_set_header of its
    // own would inherit none of them (no X-Forwarded-For, no X-Request-Id, no upgrade).
    const https = NGINX.slice(NGINX.indexOf('listen 443'));
    expect(https).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(https).toContain('proxy_set_header Connection $connection_upgrade;');
    expect(https).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
    for (const [, body] of https.matchAll(/location [^{]*\{([^}]*)\}/g)) expect(body).not.toContain('proxy_set_header');
  });
});

/** `docker compose` (v2 plugin) or `docker-compose` (1.x), whichever answers. */
function composeTool(): { cmd: string; args: string[]; v2: boolean } | null {
  if (spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0)
    return { cmd: 'docker', args: ['compose'], v2: true };
  if (spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0)
    return { cmd: 'docker-compose', args: [], v2: false };
  return null;
}
const TOOL = composeTool();

/** The subset of `docker compose config`'s normalized output that the checks below read. */
interface ComposeModel {
  services: Record<
    string,
    {
      image?: string;
      build?: unknown;
      user?: string;
      healthcheck?: { test?: string[] | string };
      volumes?: (string | { source?: string; target?: string })[];
      depends_on?: Record<string, { condition?: string }>;
      environment?: Record<string, string | null>;
      ports?: (string | { target?: number | string; published?: number | string })[];
      network_mode?: string;
      stop_grace_period?: string;
      restart?: string;
    }
  >;
  volumes?: Record<string, unknown>;
}

describe.skipIf(!TOOL)(
  `docker-compose.yml checked by ${TOOL ? [TOOL.cmd, ...TOOL.args].join(' ') : 'Docker Compose (not installed)'}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-compose-'));
    copyFileSync(join(REPO, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const compose = (args: string[], env = envFile()) => {
      writeFileSync(join(dir, '.env'), env);
      // Only what compose needs: no COMPOSE_* or secrets from this process's environment.
      return spawnSync(TOOL!.cmd, [...TOOL!.args, ...args], {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: dir },
      });
    };

    it('accepts the file with a filled-in .env, and lists the services and volumes', () => {
      const check = compose(['config', '-q']);
      expect(check.stderr + check.stdout).toBe('');
      expect(check.status).toBe(0);
      expect(compose(['config', '--services']).stdout.split('\n').filter(Boolean).sort()).toEqual([
        'coturn',
        'nginx',
        'postgres',
        'redis',
        'server-1',
        'server-2',
      ]);
      expect(compose(['config', '--volumes']).stdout.split('\n').filter(Boolean).sort()).toEqual([
        'files',
        'pgdata',
        'server-1-data',
        'server-2-data',
      ]);
    });

    it('refuses to start without the secrets .env must provide', () => {
      for (const name of ['TURN_SECRET', 'POSTGRES_PASSWORD']) {
        const r = compose(['config', '-q'], envFile([name]));
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain(name);
      }
    });

    it('wires PostgreSQL, Redis, coturn, two instances and nginx as the deployment needs', () => {
      const model = modelOf(compose(TOOL!.v2 ? ['config', '--format', 'json'] : ['config']));
      const { postgres, redis, coturn, nginx } = model.services;
      expect(JSON.stringify(postgres?.healthcheck?.test)).toContain('pg_isready');
      expect(postgres?.volumes?.map(target)).toContain('/var/lib/postgresql/data');
      expect(Object.keys(model.volumes ?? {})).toContain('pgdata');
      expect(JSON.stringify(redis?.healthcheck?.test)).toContain('ping');
      expect(coturn?.network_mode).toBe('host');
      expect(coturn?.volumes?.map(target)).toContain('/etc/coturn');
      expect(nginx?.ports?.map((p) => String(typeof p === 'string' ? p.split(':').pop() : p.target))).toEqual(
        expect.arrayContaining(['80', '443']),
      );
      expect(Object.keys(nginx?.depends_on ?? {}).sort()).toEqual(composeInstances());

      for (const name of composeInstances()) {
        const s = model.services[name];
        expect(s?.build, name).toBeTruthy();
        expect(s?.depends_on?.postgres?.condition).toBe('service_healthy');
        expect(s?.depends_on?.redis?.condition).toBe('service_healthy');
        expect(JSON.stringify(s?.healthcheck?.test)).toContain('/readyz');
        expect(s?.environment?.INSTANCE_ID).toBe(name);
        expect(s?.environment?.NODE_ENV).toBe('production');
        expect(s?.environment?.DATABASE_URL).toMatch(/^postgres:\/\/parley:[0-9a-f]{48}@postgres:5432\/parley$/);
        expect(s?.environment?.REDIS_URL).toBe('redis://redis:6379');
        expect(s?.environment?.JWT_SECRET).toMatch(/^[0-9a-f]{48}$/);
        expect(s?.stop_grace_period).toBeTruthy();
      }
    });

    function target(v: string | { target?: string }) {
      return typeof v === 'string' ? v.split(':')[1] : v.target;
    }

    /** v2 prints JSON; 1.x prints YAML, read here with the PyYAML that docker-compose 1.x itself runs on. */
    function modelOf(r: ReturnType<typeof compose>): ComposeModel {
      expect(r.status, r.stderr).toBe(0);
      if (TOOL!.v2) return JSON.parse(r.stdout) as ComposeModel;
      const python = readFileSync(
        spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' }).stdout.trim(),
        'utf8',
      )
        .split('\n')[0]!
        .replace(/^#!\s*/, '')
        .split(' ');
      const json = spawnSync(
        python[0]!,
        [...python.slice(1), '-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
        {
          input: r.stdout,
          encoding: 'utf8',
        },
      );
      expect(json.status, json.stderr).toBe(0);
      return JSON.parse(json.stdout) as ComposeModel;
    }
  },
);
