/**
 * The cryptographic building blocks a party uses, gathered so one object can be injected: X25519,
 * the mask PRGs and the word kernel. `portableSecAggCrypto` runs anywhere (browsers included);
 * the Node adapter's `nodeSecAggCrypto` (@edgefl/node) uses node:crypto. Implementations of the same
 * algorithm agree bit for bit, so a Node server and browser clients interoperate.
 */
import { portableKeyAgreement, type KeyAgreement } from './key-agreement.js';
import type { MaskPrg, PrgAlgorithm } from './prg.js';
import { portableMaskPrg } from './prg-portable.js';
import { bestWordKernel, type WordKernel } from './word-kernel.js';

export interface SecAggCrypto {
  /** Which implementation this is ('node': node:crypto; 'portable': pure JavaScript), for reports. */
  readonly name: string;
  readonly keyAgreement: KeyAgreement;
  maskPrg(algorithm: PrgAlgorithm): MaskPrg;
  readonly kernel: WordKernel;
}

export function portableSecAggCrypto(): SecAggCrypto {
  const prgs = new Map<PrgAlgorithm, MaskPrg>();
  return {
    name: 'portable',
    keyAgreement: portableKeyAgreement(),
    maskPrg(algorithm) {
      let prg = prgs.get(algorithm);
      if (!prg) prgs.set(algorithm, (prg = portableMaskPrg(algorithm)));
      return prg;
    },
    kernel: bestWordKernel(),
  };
}
