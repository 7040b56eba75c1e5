/**
 * A real Web Push service on loopback for tests: web-push-testing's server (it decrypts every push
 * with the subscription's private key and checks the VAPID signature), bound to 127.0.0.1 on a
 * port the system picks. Its CLI would listen on every interface and write files to the cwd.
 */
import { createRequire } from 'node:module';
import type { AddressInfo, Server } from 'node:net';

const require = createRequire(import.meta.url);

interface MockModel {
  notifyUrl: string;
}
interface MockServer {
  _app: { listen(port: number, host: string, cb: () => void): Server };
  setRequestHandlers(): void;
}
// web-push-testing is CommonJS without types: these are the two classes its bin/server.js uses.
const TestingServer = require('web-push-testing/src/server.js') as new (model: MockModel, port: number) => MockServer;
const { PushApiModel } = require('web-push-testing/src/PushApiModel.js') as { PushApiModel: new () => MockModel };

export interface MockSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  clientHash: string;
}

export async function startPushService() {
  const model = new PushApiModel();
  const server = new TestingServer(model, 0);
  server.setRequestHandlers();
  const http = await new Promise<Server>((resolve) => {
    const s = server._app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  model.notifyUrl = `${base}/notify/`;
  const post = async (path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    if (!res.ok) throw new Error(`push service ${path}: ${res.status} ${await res.text()}`);
    return res.headers.get('content-type')?.includes('json') ? ((await res.json()) as { data: unknown }) : null;
  };
  return {
    /** What a browser's pushManager.subscribe({ applicationServerKey }) would return. */
    async subscribe(applicationServerKey: string): Promise<MockSubscription> {
      const answer = await post('/subscribe', { userVisibleOnly: 'true', applicationServerKey });
      return answer!.data as MockSubscription;
    },
    /** Every push this subscription received, decrypted. */
    async received(sub: MockSubscription): Promise<unknown[]> {
      const answer = await post('/get-notifications', { clientHash: sub.clientHash });
      return (answer!.data as { messages: string[] }).messages.map((m) => JSON.parse(m) as unknown);
    },
    /** From now on the service answers 410 Gone for this subscription. */
    async expire(sub: MockSubscription) {
      await post(`/expire-subscription/${sub.clientHash}`);
    },
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}
