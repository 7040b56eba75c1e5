/**
 * The peer: what a team would build with the seed's stack. Express + Socket.IO + pg; every message
 * is stored in PostgreSQL (with a per-conversation seq from a counter on the conversation row) and then broadcast to the conversation's room.
 * Users and conversations are created over REST; a socket authenticates with its user id
 * (`auth: { userId }`) and joins the rooms of its conversations, read from the database.
 */
import { createServer } from 'node:http';
import express from 'express';
import pg from 'pg';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 0);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

await pool.query(`
  create table if not exists users (id serial primary key, name text not null, created_at timestamptz not null default now());
  create table if not exists conversations (id serial primary key, title text, last_seq int not null default 0, created_at timestamptz not null default now());
  create table if not exists members (conversation_id int not null references conversations(id), user_id int not null references users(id), primary key (conversation_id, user_id));
  create index if not exists members_user on members(user_id);
  create table if not exists messages (
    id bigserial primary key, conversation_id int not null references conversations(id), sender_id int not null references users(id),
    client_id uuid not null, seq int not null, body text not null, created_at timestamptz not null default now(),
    unique (conversation_id, seq), unique (conversation_id, sender_id, client_id));
`);

const app = express();
app.use(express.json());
app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
app.post('/api/users', async (req, res) => {
  const { rows } = await pool.query<{ id: number }>('insert into users (name) values ($1) returning id', [
    String(req.body.name),
  ]);
  res.json({ id: rows[0]!.id });
});
app.post('/api/conversations', async (req, res) => {
  const memberIds = (req.body.memberIds as number[]).map(Number);
  const client = await pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query<{ id: number }>('insert into conversations (title) values ($1) returning id', [
      req.body.title ?? null,
    ]);
    const id = rows[0]!.id;
    await client.query('insert into members (conversation_id, user_id) select $1, unnest($2::int[])', [id, memberIds]);
    await client.query('commit');
    res.json({ id });
  } catch (err) {
    await client.query('rollback');
    res.status(500).json({ error: String(err) });
  } finally {
    client.release();
  }
});

const http = createServer(app);
const io = new Server(http, { serveClient: false });
io.on('connection', async (socket) => {
  const userId = Number(socket.handshake.auth.userId);
  const { rows } = await pool.query<{ conversation_id: number }>(
    'select conversation_id from members where user_id = $1',
    [userId],
  );
  for (const r of rows) await socket.join(`c:${r.conversation_id}`);
  socket.emit('ready');
  socket.on(
    'send',
    async (msg: { conversationId: number; clientId: string; body: string }, ack: (r: unknown) => void) => {
      try {
        const member = await pool.query('select 1 from members where conversation_id = $1 and user_id = $2', [
          msg.conversationId,
          userId,
        ]);
        if (member.rowCount === 0) return ack({ error: 'not found' });
        // One statement, one round trip: bump the conversation's counter (row lock) and insert with it.
        const { rows: saved } = await pool.query(
          `with c as (update conversations set last_seq = last_seq + 1 where id = $1 returning last_seq)
         insert into messages (conversation_id, sender_id, client_id, seq, body)
         select $1, $2, $3, c.last_seq, $4 from c
         on conflict (conversation_id, sender_id, client_id) do nothing
         returning id, conversation_id, sender_id, client_id, seq, body, created_at`,
          [msg.conversationId, userId, msg.clientId, msg.body],
        );
        const row = saved[0];
        if (row) socket.to(`c:${msg.conversationId}`).emit('message', row);
        ack(row ?? { duplicate: true });
      } catch (err) {
        ack({ error: String(err) });
      }
    },
  );
});
http.listen(port, '127.0.0.1', () => {
  const addr = http.address();
  console.log(`LISTENING ${typeof addr === 'object' && addr ? addr.port : port}`);
});
for (const s of ['SIGTERM', 'SIGINT'] as const)
  process.once(s, () => void io.close(() => void pool.end().finally(() => process.exit(0))));
