export * from './ids.js';
export * from './service.js';
export * from './operations/index.js';
export * from './documents.js';
export * from './aws-managed-policies.js';
export type { PolicyHolder, ManagedPolicy, PolicyVersion, AttachedPolicy } from './policies.js';
