export * from './ids.js';
export * from './service.js';
