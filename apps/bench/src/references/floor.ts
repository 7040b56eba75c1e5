/**
 * The floor: the least a relay can do. Plain `ws`, no database, no auth, no framing beyond JSON.
 * A client connects with `?user=<id>`, sends `{ t: 'join', c }` to enter a conversation and
 * `{ t: 'send', c, k, b }` to post; the relay acks the sender and forwards to the other members.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.env.PORT ?? 0);
const rooms = new Map<string, Set<WebSocket>>();

const http = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
  } else {
    res.writeHead(404);
    res.end();
  }
});
const wss = new WebSocketServer({ server: http });
let seq = 0;
wss.on('connection', (ws, req) => {
  const user = new URL(req.url ?? '/', 'http://x').searchParams.get('user') ?? '';
  const joined: string[] = [];
  ws.on('message', (raw) => {
    const msg = JSON.parse(String(raw)) as { t: string; c: string; k?: string; b?: string };
    if (msg.t === 'join') {
      let room = rooms.get(msg.c);
      if (!room) {
        room = new Set();
        rooms.set(msg.c, room);
      }
      room.add(ws);
      joined.push(msg.c);
      ws.send(JSON.stringify({ t: 'joined', c: msg.c }));
    } else if (msg.t === 'send') {
      const out = JSON.stringify({ t: 'msg', c: msg.c, s: user, q: ++seq, b: msg.b });
      for (const peer of rooms.get(msg.c) ?? []) if (peer !== ws) peer.send(out);
      ws.send(JSON.stringify({ t: 'ack', k: msg.k, q: seq }));
    }
  });
  ws.on('close', () => {
    for (const c of joined) rooms.get(c)?.delete(ws);
  });
});
http.listen(port, '127.0.0.1', () => {
  const addr = http.address();
  console.log(`LISTENING ${typeof addr === 'object' && addr ? addr.port : port}`);
});
for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => process.exit(0));
