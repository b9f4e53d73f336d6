export { startServer, DEFAULT_HOST, DEFAULT_PORT, BODY_LIMIT, type ServerOptions, type RunningServer } from './server.js';
export { signRequest, type SigningCredentials } from './sigv4.js';
