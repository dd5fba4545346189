// Isomorphic data API: datasets, file formats, loaders and corpora that run in Node and in browsers.
// File-system loaders live in ./node/index.js.
export * from './dataset.js';
export * from './idx.js';
export * from './csv.js';
export * from './windows.js';
export * from './mnist.js';
export * from './validate.js';
export * from './loader.js';
export * from './text/tokenizer.js';
export * from './text/vocabulary.js';
export * from './text/corpus.js';
export * from './text/sotu.js';
export * from './text/public-candidates.js';
export * from './text/federated-vocabulary.js';
export * from './text/next-word.js';
export * from './partition/index.js';
export * from './synthetic/transactions.js';
