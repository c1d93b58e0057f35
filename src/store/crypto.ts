/**
 * Tokens at rest: JWE compact serialisation, `alg: dir` + `enc: A256GCM` (RFC 7516/7518 via
 * `jose`), with a key ring from the environment: `TOKEN_KEYS="kid1:base64key,kid2:base64key"`.
 * The FIRST key encrypts; every key decrypts (chosen by the JWE `kid` header), so rotation is:
 * prepend a new key, deploy, run `rotateTokenEncryption()`, then drop the old key.
 * The tenant id is bound as additional authenticated data, so a ciphertext copied into another
 * tenant's key fails to decrypt.
 */
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { TokenSet } from '../../connectors/contract.js';
import { AppError } from '../errors.js';
import { parseOrThrow } from '../validation.js';

export const ERR_STORE_KEYRING_INVALID = 'ERR_STORE_KEYRING_INVALID';
export const ERR_STORE_TOKEN_UNDECRYPTABLE = 'ERR_STORE_TOKEN_UNDECRYPTABLE';

export interface KeyRing {
  /** Newest first: `keys[0]` encrypts. */
  readonly keys: readonly { kid: string; key: Uint8Array }[];
}

const KID = /^[A-Za-z0-9_.-]{1,64}$/;

/** Parses `kid1:base64key,kid2:base64key` (keys: 32 bytes, base64 or base64url). */
export function parseKeyRing(spec: string): KeyRing {
  const problems: string[] = [];
  const keys: { kid: string; key: Uint8Array }[] = [];
  const parts = spec
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) problems.push('no key given (expected "kid:base64key[,kid2:base64key]")');
  parts.forEach((part, index) => {
    const colon = part.indexOf(':');
    const kid = colon < 0 ? '' : part.slice(0, colon);
    if (!KID.test(kid)) {
      problems.push(`key #${index + 1}: missing or invalid key id before ":"`);
      return;
    }
    const key = Buffer.from(part.slice(colon + 1), 'base64');
    if (key.length !== 32) problems.push(`key "${kid}": must be 32 bytes base64 (got ${key.length} bytes)`);
    else if (keys.some((k) => k.kid === kid)) problems.push(`key "${kid}": duplicate key id`);
    else keys.push({ kid, key: new Uint8Array(key) });
  });
  if (problems.length > 0) {
    throw new AppError(ERR_STORE_KEYRING_INVALID, `TOKEN_KEYS is invalid: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return { keys };
}

/** A fresh single-key ring (demo, tests) and its `TOKEN_KEYS` spelling. */
export function generateKeyRing(kid = 'k1'): { ring: KeyRing; spec: string } {
  const key = randomBytes(32);
  return { ring: { keys: [{ kid, key: new Uint8Array(key) }] }, spec: `${kid}:${key.toString('base64')}` };
}

const TokenSetSchema = z.strictObject({
  accessToken: z.string().min(1),
  refreshToken: z.string().min(1).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  instanceUrl: z.string().url().optional(),
  accountId: z.string().min(1),
  /** Salesforce: the integration user (identity URL), needed to assign the permission set. */
  userId: z.string().min(1).optional(),
  scopes: z.array(z.string()).optional(),
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function encryptTokens(ring: KeyRing, tenantId: string, tokens: TokenSet): Promise<string> {
  const newest = ring.keys[0];
  if (newest === undefined) throw new AppError(ERR_STORE_KEYRING_INVALID, 'TOKEN_KEYS has no key');
  const clean = parseOrThrow(TokenSetSchema, tokens, 'token set');
  return new CompactEncrypt(encoder.encode(JSON.stringify(clean)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: newest.kid, tid: tenantId })
    .encrypt(newest.key);
}

/** The `kid` a stored JWE was encrypted with (no decryption). */
export function keyIdOf(jwe: string): string | undefined {
  try {
    return decodeProtectedHeader(jwe).kid;
  } catch {
    return undefined;
  }
}

export async function decryptTokens(ring: KeyRing, tenantId: string, jwe: string): Promise<TokenSet> {
  const kid = keyIdOf(jwe);
  const entry = ring.keys.find((k) => k.kid === kid);
  const fail = (why: string, cause?: unknown): AppError =>
    new AppError(
      ERR_STORE_TOKEN_UNDECRYPTABLE,
      `stored tokens of tenant ${tenantId} cannot be decrypted: ${why}`,
      {
        details: { tenantId, kid: kid ?? null },
        cause,
      },
    );
  if (entry === undefined) throw fail(`key id "${kid ?? '?'}" is not in TOKEN_KEYS`);
  let plaintext: Uint8Array;
  let header: Record<string, unknown>;
  try {
    const result = await compactDecrypt(jwe, entry.key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    plaintext = result.plaintext;
    header = result.protectedHeader as Record<string, unknown>;
  } catch (error) {
    throw fail('authentication failed (wrong key or tampered value)', error);
  }
  // The tenant id is in the integrity-protected header: a value moved between tenants is refused.
  if (header['tid'] !== tenantId) throw fail('ciphertext belongs to another tenant');
  return parseOrThrow(TokenSetSchema, JSON.parse(decoder.decode(plaintext)), 'stored token set') as TokenSet;
}
