/**
 * The cryptographic building blocks a party uses, gathered so one object can be injected: X25519,
 * the mask PRGs and the word kernel. `portableSecAggCrypto` runs anywhere (browsers included);
 * `loadSecAggCrypto` picks the node:crypto versions when running in Node. Implementations of the same
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

function runningInNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

// Held in a variable so that bundlers targeting browsers do not follow it into node:crypto.
const NODE_SUITE_MODULE = './crypto-node.js';

/**
 * The fastest suite for this runtime: in Node it loads crypto-node.ts (node:crypto) on demand,
 * anywhere else it returns the portable suite. Browser bundles never contain node:crypto.
 */
export async function loadSecAggCrypto(): Promise<SecAggCrypto> {
  if (runningInNode()) {
    try {
      const { nodeSecAggCrypto } = (await import(NODE_SUITE_MODULE)) as typeof import('./crypto-node.js');
      return nodeSecAggCrypto();
    } catch {
      // A Node-like runtime without a usable node:crypto: fall through to the portable suite.
    }
  }
  return portableSecAggCrypto();
}
