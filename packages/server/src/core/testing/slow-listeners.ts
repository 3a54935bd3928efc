import { expect } from 'chai';

/** Busy-waits `ms`: a listener as slow as a socket write, so that fan-outs take time. */
export function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** What a resource channel promises each listener: sizes in order (some may be skipped), ending with `last`. */
export function expectInOrderEndingWith(got: readonly (readonly number[])[], last: number): void {
  for (const sizes of got) {
    expect(sizes[sizes.length - 1]).to.equal(last);
    expect(sizes.every((size, i) => i === 0 || size > (sizes[i - 1] as number))).to.equal(true);
  }
}
