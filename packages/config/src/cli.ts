/**
 * The `parley` command's settings: where it keeps its session and which server it talks to.
 * Read here because this package is the only reader of `process.env`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

const cliEnvSchema = z.object({
  /** Overrides the folder that holds `session.json` (tests, several accounts side by side). */
  PARLEY_CONFIG_DIR: z.string().min(1).optional(),
  /** The server used when `--server` is not given and no session names one. */
  PARLEY_SERVER: z.url().optional(),
  XDG_CONFIG_HOME: z.string().min(1).optional(),
  APPDATA: z.string().min(1).optional(),
});

export interface CliConfig {
  /** The OS's per-user config folder for Parley (XDG on Linux, Application Support on macOS, %APPDATA% on Windows). */
  configDir: string;
  server: string | undefined;
}

export function loadCliConfig(
  source: Record<string, string | undefined> = process.env,
  platform: NodeJS.Platform = process.platform,
): CliConfig {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const env = cliEnvSchema.parse(cleaned);
  const base =
    platform === 'win32'
      ? (env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? join(homedir(), 'Library', 'Application Support')
        : (env.XDG_CONFIG_HOME ?? join(homedir(), '.config'));
  return { configDir: env.PARLEY_CONFIG_DIR ?? join(base, 'parley'), server: env.PARLEY_SERVER };
}
