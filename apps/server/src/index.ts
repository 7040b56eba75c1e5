export { startServer, TRPC_PATH, type ParleyServer } from './server.js';
