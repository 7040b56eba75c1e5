import { type Config, ConfigError, loadConfig } from '@parley/config';
import { startServer } from './server.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

const server = await startServer(config);
server.logger.info(`Parley is running at ${server.url}`);
console.log(`\n  Parley is running at ${server.url}\n`);

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    // Ctrl-C reaches this process from the terminal and again from `pnpm start`: one shutdown.
    if (closing) return;
    closing = true;
    server.logger.info({ signal }, 'Shutting down gracefully');
    server.close().then(
      () => process.exit(0),
      (err) => {
        server.logger.error({ err }, 'Shutdown failed');
        process.exit(1);
      },
    );
  });
}
