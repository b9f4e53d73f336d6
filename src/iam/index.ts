export * from './ids.js';
export * from './service.js';
export * from './operations.js';
