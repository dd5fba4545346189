/**
 * The messages of the four rounds, as plain objects (codec.ts turns them into bytes). Names follow
 * Bonawitz et al. 2017: advertise keys, share keys, masked input collection, unmasking. Messages
 * from the server carry `to`, messages from a client carry `from`.
 */

export interface PublicKeys {
  readonly id: number;
  /** X25519 public key for the boxes that carry shares. */
  readonly encryptionKey: Uint8Array;
  /** X25519 public key for pairwise masks; its secret half is Shamir-shared. */
  readonly maskKey: Uint8Array;
}

/** Round 0, client -> server. */
export interface AdvertiseKeysMessage {
  readonly type: 'advertise-keys';
  readonly from: number;
  readonly encryptionKey: Uint8Array;
  readonly maskKey: Uint8Array;
}

/** Round 0, server -> client: the public keys of the client's neighbours that advertised. */
export interface KeyDirectoryMessage {
  readonly type: 'key-directory';
  readonly to: number;
  readonly peers: readonly PublicKeys[];
}

export interface AddressedBox {
  readonly to: number;
  readonly box: Uint8Array;
}

/** Round 1, client -> server: one sealed box of shares per neighbour, for the server to forward. */
export interface ShareKeysMessage {
  readonly type: 'share-keys';
  readonly from: number;
  readonly boxes: readonly AddressedBox[];
}

export interface ReceivedBox {
  readonly from: number;
  readonly box: Uint8Array;
}

/** Round 1, server -> client: the boxes addressed to it by neighbours that shared their keys. */
export interface ForwardedSharesMessage {
  readonly type: 'forwarded-shares';
  readonly to: number;
  readonly boxes: readonly ReceivedBox[];
}

/** Round 2, client -> server: the quantized input plus all masks, mod 2^32. */
export interface MaskedInputMessage {
  readonly type: 'masked-input';
  readonly from: number;
  readonly masked: Uint32Array;
}

/**
 * Round 3, server -> client. `survivors` is every client whose masked input the server holds;
 * the client is asked for its share of the self-mask seed of each client in `selfMaskSharesOf` and of
 * the mask secret key of each client in `keySharesOf` (those who dropped after sharing keys).
 */
export interface UnmaskRequestMessage {
  readonly type: 'unmask-request';
  readonly to: number;
  readonly survivors: readonly number[];
  readonly selfMaskSharesOf: readonly number[];
  readonly keySharesOf: readonly number[];
}

export interface HeldShare {
  /** Whose secret this is a share of. */
  readonly of: number;
  readonly share: Uint32Array;
}

/** Round 3, client -> server. The share point is the sender's (its index + 1). */
export interface UnmaskResponseMessage {
  readonly type: 'unmask-response';
  readonly from: number;
  readonly selfMaskShares: readonly HeldShare[];
  readonly keyShares: readonly HeldShare[];
}

export type SecAggMessage =
  | AdvertiseKeysMessage
  | KeyDirectoryMessage
  | ShareKeysMessage
  | ForwardedSharesMessage
  | MaskedInputMessage
  | UnmaskRequestMessage
  | UnmaskResponseMessage;
