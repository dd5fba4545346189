/** The node:crypto suite: OpenSSL X25519, AES-256-CTR and ChaCha20. Node only. */
import type { SecAggCrypto } from 'edgefl/internal/privacy/secagg/crypto-suite';
import { nodeKeyAgreement } from './key-agreement-node.js';
import type { MaskPrg, PrgAlgorithm } from 'edgefl/internal/privacy/secagg/prg';
import { nodeMaskPrg } from './prg-node.js';
import { bestWordKernel } from 'edgefl/internal/privacy/secagg/word-kernel';

export function nodeSecAggCrypto(): SecAggCrypto {
  const prgs = new Map<PrgAlgorithm, MaskPrg>();
  return {
    name: 'node',
    keyAgreement: nodeKeyAgreement(),
    maskPrg(algorithm) {
      let prg = prgs.get(algorithm);
      if (!prg) prgs.set(algorithm, (prg = nodeMaskPrg(algorithm)));
      return prg;
    },
    kernel: bestWordKernel(),
  };
}
