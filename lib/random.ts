// Small seeded generators for reproducible shuffles and samples (not cryptographic).

/** splitmix32 finaliser: spreads every input bit over the whole 32-bit state. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

/** mulberry32: a small, fast 32-bit generator. Returns floats in [0, 1). */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator for stream `index` of `seed` (both non-negative integers): distinct streams diverge. */
export function seededStream(seed: number, index: number): () => number {
  const hi = Math.floor(seed / 4294967296);
  return mulberry32(mix32(mix32(mix32(seed >>> 0) ^ hi) ^ Math.imul(index + 1, 0x9e3779b9)));
}
