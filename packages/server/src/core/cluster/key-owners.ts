/**
 * Where a key is owned: which node of a cluster holds the live state of something parties
 * must meet at (a pipe's path, a rendezvous stream). The core knows nothing of what the
 * keys name; the protocols' shared meeting code (protocols/shared/rendezvous) asks.
 */
export type Ownership =
  /** This node holds the key until `release` (every claim released: the key is free again). */
  | { readonly here: true; release(): void }
  /** Another node holds it: the party's request goes there. */
  | { readonly here: false; readonly nodeUrl: string };

export interface KeyOwners {
  /** Takes `key` for this node if nobody holds it (or this node does), else says which node does. */
  claim(key: string): Promise<Ownership>;
  /** Frees `key` if `nodeUrl` still holds it (that node was found gone: nothing listens there). */
  forget(key: string, nodeUrl: string): Promise<void>;
  /**
   * The other nodes holding keys that start with `keyPrefix` (a cluster-wide list asks
   * them for theirs), each once; none on a single node.
   */
  otherHolders(keyPrefix: string): Promise<string[]>;
  /** Called once the node listens: the URL other nodes reach it at. */
  attach(nodeUrl: string): void;
  /** This node's URL once attached. */
  readonly nodeUrl: string | undefined;
  close(): Promise<void>;
}

/** One node (the embedded default, or a cluster without Redis): every key is owned here. */
export class LocalKeyOwners implements KeyOwners {
  nodeUrl: string | undefined;
  async claim(): Promise<Ownership> {
    return { here: true, release: () => undefined };
  }
  async forget(): Promise<void> {}
  async otherHolders(): Promise<string[]> {
    return [];
  }
  attach(nodeUrl: string): void {
    this.nodeUrl = nodeUrl;
  }
  async close(): Promise<void> {}
}
