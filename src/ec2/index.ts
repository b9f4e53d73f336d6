export * from './service.js';
export * from './model.js';
export * from './ids.js';
