/**
 * @edgefl/net: the federation protocol (binary frames over WebSocket, checked message schemas,
 * device identities) and the client that speaks it. No Node built-ins: it runs in a browser tab
 * as well as in Node (there with the `ws` package's WebSocket). The server is @edgefl/server.
 */
export * from './frame.js';
export * from './messages.js';
export * from './identity.js';
export * from './client.js';
export * from './secagg-keys.js';
