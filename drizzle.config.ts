import { defineConfig } from 'drizzle-kit';

// Generates versioned SQL migrations from the drizzle schema; they run at server start-up.
export default defineConfig({
  dialect: 'postgresql',
  schema: './packages/db/src/schema.ts',
  out: './packages/db/migrations',
});
