export * from './service.js';
export * from './keys.js';
export * from './grants.js';
export * from './context.js';
export * from './blob.js';
export * from './authorize.js';
export { keepSpareRsaKeys } from './spare-rsa-keys.js';
export { KMS_OPERATIONS, KMS_SERVICE } from './operations/index.js';
