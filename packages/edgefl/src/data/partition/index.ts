// Partitioners: split a dataset's sample indices among federated clients (isomorphic).
export { classLabels, type ClassLabelsOptions } from './labels.js';
export { iid } from './iid.js';
export { shards } from './shards.js';
export { dirichlet, type DirichletOptions } from './dirichlet.js';
export { quantitySkew, type QuantitySkew, type QuantitySkewOptions } from './quantity-skew.js';
export { natural, groupByKey } from './natural.js';
export { sampleGamma, sampleLogGamma, sampleDirichlet } from './gamma.js';
export {
  partitionSummary,
  formatSummaryTable,
  type PartitionSummary,
  type ClientSummary,
  type SummaryTableOptions,
} from './summary.js';
export { holdOutPerClient, type ClientSplits } from './hold-out.js';
export { parsePartition, type Partitioner, type PartitionInput } from './parse.js';
