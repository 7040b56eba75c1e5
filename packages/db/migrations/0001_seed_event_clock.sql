-- The single counter row that orders every event (see schema.ts, `events`).
INSERT INTO "event_clock" ("id", "value") VALUES (1, 0) ON CONFLICT DO NOTHING;
