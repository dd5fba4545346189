/**
 * @edgefl/server: a federation server for Node. Clients on other machines (connectClient from
 * @edgefl/net) enroll with a token, authenticate with their device key, and train; the server runs
 * the shared federated run with the settings' strategy, privacy layers and codec.
 */
export {
  createServer,
  plaintextRefusal,
  type ServerOptions,
  type ServerLimits,
  type FederationServer,
} from './server.js';
export {
  serverSettings,
  serverSettingsOf,
  checkServerResumable,
  type ServerConfig,
  type ServerSettings,
} from './settings.js';
export { ClientRegistry, type EnrolledClient, type RegistryState } from './registry.js';
export { NetworkExecutor, type NetworkExecutorOptions, type ClientDirectory } from './network-executor.js';
export { ServerMetrics } from './metrics.js';
export { Connection, type ConnectionLimits } from './connection.js';
export { checkStateFolder } from './state-folder.js';
export {
  requestRevocation,
  revocationPending,
  applyRevocationRequests,
  REVOCATION_FOLDER,
} from './revocation-requests.js';
