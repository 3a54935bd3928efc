/**
 * A Map kept in least-recently-used order (a Map iterates in insertion order): `touch`
 * on use moves an entry to the end, `evictBeyond` drops entries from the front.
 */
export class LruMap<K, V> extends Map<K, V> {
  /** The value of `key`, marked most recently used; undefined if absent. */
  touch(key: K): V | undefined {
    const value = super.get(key);
    if (value !== undefined) {
      super.delete(key);
      super.set(key, value);
    }
    return value;
  }

  /** Removes least recently used entries until at most `capacity` remain, telling `onEvict` of each. */
  evictBeyond(capacity: number, onEvict?: (key: K, value: V) => void): void {
    for (const [key, value] of this) {
      if (this.size <= capacity) break;
      this.delete(key);
      onEvict?.(key, value);
    }
  }
}
