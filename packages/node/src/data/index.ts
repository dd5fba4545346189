// Node adapters of the data API: reading IDX files (gzipped or not) from disk, a federated client's
// own data from its folder or CSV file, and the split of one dataset among clients.
export * from './idx.js';
export { loadClientData, type ClientData, type ClientDataOptions } from './client-data.js';
export { partitionClients, type ClientPartition, type ClientPartitionOptions } from './partition-clients.js';
