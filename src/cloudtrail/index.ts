export * from './service.js';
export * from './lookup-events.js';
