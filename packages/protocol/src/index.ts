export * from './shapes.js';
export * from './events.js';
export * from './errors.js';
export * from './cursor.js';
