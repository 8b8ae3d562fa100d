/**
 * 32-bit FNV-1a hash of a string's UTF-16 code units: stable across runs, processes
 * and Node versions (unlike object identity or Math.random), cheap, and spread well
 * enough to pick among a handful of templates.
 */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
