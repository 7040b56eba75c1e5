/** `parley`: the command line. Parses arguments, runs one command, exits with its code. */
import { parseArgs } from 'node:util';
import { loadCliConfig } from '@parley/config/cli';
import { TRPCClientError } from '@parley/client';
import * as commands from './commands.js';
import { CliError, type CommandContext } from './commands.js';
import { SessionFile } from './session-file.js';

const USAGE = `Usage: parley <command> [options]

Commands:
  login <email>               sign in (asks for the password; --password-stdin to pipe it)
  logout                      sign out and forget the session
  whoami                      the signed-in account
  conversations               your conversations, newest activity first (alias: ls)
  history <conversation>      recent messages (-n, --limit N; default 20)
  send <conversation> [text]  send text (from standard input when no text is given)
  tail [conversation]         print new messages as they arrive (all conversations without one)

<conversation> is an id, an id prefix (6+ characters), a group's title or a person's name.

Options:
  --server <url>    the Parley server (default: the saved session's, else PARLEY_SERVER)
  --json            machine-readable output (one JSON value per line for tail)
  --totp <code>     the 2FA code or a recovery code, for login
  -h, --help        this help

The session is kept in ${loadCliConfig().configDir}/session.json (mode 0600).`;

const nodeIo: commands.Io = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string', short: 'n' },
      'password-stdin': { type: 'boolean', default: false },
      totp: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    nodeIo.out(USAGE);
    return command || values.help ? 0 : 2;
  }
  const config = loadCliConfig();
  const ctx: CommandContext = {
    io: nodeIo,
    sessionFile: new SessionFile(config.configDir),
    server: values.server ?? config.server,
    json: values.json,
  };
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new CliError('--limit takes a whole number from 1 to 100.', 2);
  const needs = (n: number, what: string) => {
    if (rest.length < n) throw new CliError(`Missing ${what}. See \`parley --help\`.`, 2);
  };

  switch (command) {
    case 'login':
      needs(1, 'the email');
      await commands.login(ctx, rest[0]!, { passwordStdin: values['password-stdin'], totp: values.totp });
      return 0;
    case 'logout':
      await commands.logout(ctx);
      return 0;
    case 'whoami':
      await commands.whoami(ctx);
      return 0;
    case 'conversations':
    case 'ls':
      await commands.conversations(ctx);
      return 0;
    case 'history':
      needs(1, 'the conversation');
      await commands.history(ctx, rest[0]!, limit);
      return 0;
    case 'send':
      needs(1, 'the conversation');
      await commands.send(ctx, rest[0]!, rest.slice(1));
      return 0;
    case 'tail': {
      const stop = new AbortController();
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
      await commands.tail(ctx, rest[0], values.limit === undefined ? 10 : limit, stop.signal);
      return 0;
    }
    default:
      throw new CliError(`Unknown command "${command}". See \`parley --help\`.`, 2);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`parley: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if (err instanceof TRPCClientError) {
      // The server's message is written for people; the code helps scripts.
      process.stderr.write(`parley: ${err.message}${err.data?.code ? ` (${err.data.code})` : ''}\n`);
      process.exit(1);
    }
    if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`parley: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`parley: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
