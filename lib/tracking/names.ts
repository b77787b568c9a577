// Random run names in MLflow's style (`<adjective>-<noun>-<number>`), for runs started without one.

const ADJECTIVES = [
  'able', 'bold', 'brave', 'bright', 'calm', 'clever', 'crisp', 'dapper', 'eager', 'fair',
  'gentle', 'glad', 'grand', 'honest', 'jolly', 'keen', 'kind', 'lively', 'lucky', 'merry',
  'nimble', 'polite', 'proud', 'quick', 'quiet', 'rare', 'sharp', 'silent', 'smooth', 'stable',
  'steady', 'sunny', 'swift', 'tidy', 'upbeat', 'vivid', 'warm', 'wise', 'witty', 'zealous',
];
const NOUNS = [
  'ant', 'bass', 'bear', 'bee', 'cat', 'crab', 'crow', 'deer', 'dove', 'eel',
  'elk', 'finch', 'fox', 'frog', 'goat', 'hare', 'hawk', 'heron', 'horse', 'jay',
  'koala', 'lark', 'lion', 'lynx', 'mole', 'moth', 'newt', 'owl', 'panda', 'pike',
  'quail', 'ram', 'seal', 'shrew', 'sloth', 'snail', 'stork', 'swan', 'toad', 'whale',
];

/** A name like `swift-heron-417`, drawn from `randomHex` (so an injected generator makes it repeatable). */
export function randomRunName(randomHex: (bytes: number) => string): string {
  const n = parseInt(randomHex(4), 16);
  return `${ADJECTIVES[n % ADJECTIVES.length]}-${NOUNS[Math.floor(n / 40) % NOUNS.length]}-${Math.floor(n / 1600) % 1000}`;
}
