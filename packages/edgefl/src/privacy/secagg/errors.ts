/**
 * Errors of the secure-aggregation protocol. Every failure carries a machine-readable `code` and the
 * protocol `stage` where it happened, so a round engine can tell "the round cannot finish" (abort)
 * from "an honest client refused a request" (refusal) from "a message was malformed" (protocol).
 */

export type SecAggStage = 'setup' | 'advertise-keys' | 'share-keys' | 'masked-input' | 'unmasking';

export type SecAggErrorCode =
  // parameters and local input
  | 'invalid-params'
  | 'invalid-input'
  // messages that do not fit the protocol
  | 'bad-message'
  | 'out-of-order'
  // the round cannot complete
  | 'too-few-clients'
  | 'neighbourhood-too-small'
  | 'disconnected-survivors'
  | 'reconstruction-failed'
  // an honest client refuses a request that would break privacy
  | 'double-share-request'
  | 'outside-neighbourhood'
  | 'already-answered'
  | 'inconsistent-request';

export class SecAggError extends Error {
  constructor(
    readonly code: SecAggErrorCode,
    readonly stage: SecAggStage,
    message: string,
  ) {
    super(`secure aggregation (${stage}): ${message}`);
    this.name = 'SecAggError';
  }
}

/** The round cannot produce a sum (too few survivors, a secret that cannot be rebuilt...). */
export class SecAggAbortError extends SecAggError {
  constructor(code: SecAggErrorCode, stage: SecAggStage, message: string) {
    super(code, stage, `round aborted: ${message}`);
    this.name = 'SecAggAbortError';
  }
}

/** An honest client refuses a server request that could reveal an individual input. */
export class SecAggRefusalError extends SecAggError {
  constructor(
    readonly clientId: number,
    code: SecAggErrorCode,
    stage: SecAggStage,
    message: string,
  ) {
    super(code, stage, `client ${clientId} refuses: ${message}`);
    this.name = 'SecAggRefusalError';
  }
}
