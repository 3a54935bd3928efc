import { expect } from 'chai';
import { LruMap } from './lru-map.js';

describe('LruMap', () => {
  it('evicts the least recently used entries first; touch counts as a use', () => {
    const map = new LruMap<string, number>([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ]);
    expect(map.touch('a')).to.equal(1);
    expect(map.touch('missing')).to.equal(undefined);
    const evicted: string[] = [];
    map.evictBeyond(1, (key) => evicted.push(key));
    expect(evicted).to.deep.equal(['b', 'c']);
    expect([...map.keys()]).to.deep.equal(['a']);
  });
});
