export * from './principal.js';
export * from './ids.js';
export * from './service.js';
