import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Finds sockets whose peer went away without a close (a laptop lid shut, a NAT that forgot the
 * flow): every `intervalMs` each socket that answered the previous ping is pinged again (a
 * protocol ping: browsers and `ws` answer it by themselves) and one that did not answer is
 * terminated, so a dead peer goes within two intervals. One timer for every socket: tRPC's
 * keepAlive held two timers and four closures per socket and re-armed them on every frame.
 */
export function heartbeat(wss: WebSocketServer, intervalMs: number): () => void {
  const answered = new WeakSet<WebSocket>();
  // One listener function for all sockets (ws calls it with the socket as `this`).
  function markAnswered(this: WebSocket) {
    answered.add(this);
  }
  wss.on('connection', (ws) => {
    answered.add(ws);
    ws.on('pong', markAnswered);
  });
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!answered.has(ws)) {
        ws.terminate();
        continue;
      }
      answered.delete(ws);
      ws.ping();
    }
  }, intervalMs).unref();
  return () => clearInterval(timer);
}
