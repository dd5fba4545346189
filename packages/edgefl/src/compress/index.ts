// Update codecs: communication-efficient encodings of a client's update (isomorphic).
export { CodecError, type UpdateCodec, type CodecState, type EncodeOptions, type Encoded } from './codec.js';
export { float32Codec } from './float32.js';
export { float16Codec } from './float16.js';
export { qsgd8Codec, type Qsgd8Options } from './qsgd8.js';
export { topKCodec, topKCount, type TopKOptions } from './topk.js';
export { topKIndices } from './top-k-select.js';
export { float32BitsToHalf, halfToNumber, numberToHalf, HALF_MAX } from './half.js';
export { codecByName } from './by-name.js';
