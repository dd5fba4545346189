// Node adapters of the data API: reading IDX files (gzipped or not) from disk.
export * from './idx.js';
