export * from './home.js';
export * from './database.js';
export * from './root-key.js';
export * from './failure.js';
