/**
 * An echo bot on the Parley SDK: it signs in, follows its event stream and answers every message
 * it receives with the same text. Run it with
 *   pnpm --filter @parley/cli exec tsx examples/echo-bot.ts http://127.0.0.1:3000 bot@example.com 'bot password'
 */
import { randomUUID } from 'node:crypto';
import { createParleyClient, followEvents } from '@parley/client';
import WebSocket from 'ws';

const [url, email, password] = process.argv.slice(2);
if (!url || !email || !password) {
  console.error('usage: echo-bot.ts <server url> <email> <password>');
  process.exit(2);
}

const parley = createParleyClient({
  url,
  cookies: 'jar', // keeps the refresh cookie, so the bot stays signed in past the access token's 15 minutes
  // The `ws` package implements the WebSocket the client needs; its types differ only in extras.
  WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
});
const { user } = await parley.api.auth.login.mutate({ email, password });

followEvents(parley.api, {
  onStarted: () => console.log(`echo bot ready as ${user.displayName}`),
  onEvent: (event) => {
    // Every device of the bot sees its own sends too: answer only other people.
    if (event.type !== 'message.new' || event.message.senderId === user.id) return;
    const { conversationId, body } = event.message;
    void parley.api.messages.send
      .mutate({ conversationId, clientId: randomUUID(), body: `echo: ${body}` })
      .catch((err: unknown) => console.error('could not answer:', err));
  },
});
