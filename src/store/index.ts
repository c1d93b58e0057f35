/** Public surface of the state layer. Contract and persistence notes: `types.ts`. */
export * from './types.js';
export { RedisStore, ERR_STORE_CONTENDED } from './redis-store.js';
export type { RedisStoreOptions } from './redis-store.js';
export { MemoryStore } from './memory-store.js';
export type { MemoryStoreOptions } from './memory-store.js';
export {
  parseKeyRing,
  generateKeyRing,
  ERR_STORE_KEYRING_INVALID,
  ERR_STORE_TOKEN_UNDECRYPTABLE,
} from './crypto.js';
export type { KeyRing } from './crypto.js';
export {
  createTokenProvider,
  ERR_AUTH_REVOKED,
  ERR_AUTH_NO_TOKENS,
  ERR_AUTH_REFRESH_COOLDOWN,
  ERR_AUTH_REFRESH_BUSY,
} from './tokens.js';
export type { TokenProviderOptions } from './tokens.js';
export {
  RedisRateLimiter,
  MemoryRateLimiter,
  ERR_RATE_LIMIT_PAUSED,
  applicableRules,
} from './rate-limiter.js';
export type { LimiterOptions } from './rate-limiter.js';
export { ERR_STORE_TENANT_ID_INVALID } from './keys.js';
