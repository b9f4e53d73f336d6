export * from './record.js';
export * from './trail.js';
export * from './lookup.js';
export * from './export.js';
export * from './diagram.js';
export * from './retention.js';
