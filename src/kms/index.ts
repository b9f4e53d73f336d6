export * from './service.js';
export * from './keys.js';
export * from './grants.js';
export * from './context.js';
export * from './blob.js';
export * from './authorize.js';
