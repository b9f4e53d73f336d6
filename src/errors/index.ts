export * from './aws-error.js';
export * from './home-errors.js';
