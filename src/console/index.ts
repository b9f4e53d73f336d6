export { handleConsoleRequest } from './handler.js';
export { consoleState } from './state.js';
export { consoleHostCheck } from './host.js';
