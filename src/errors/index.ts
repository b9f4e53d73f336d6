export * from './aws-error.js';
