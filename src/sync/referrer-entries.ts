/**
 * The compute's referrer pass over a streamed object: decode only the cached people the engine's
 * referrer sieve accepts (see `ReferrerSieve`), judged from the cache entry's id and the email read
 * straight from its JSON.
 *
 * Why: that pass decoded every person of the account to act on a few; decoding was most of its
 * time. Skipping the rest changes nothing: the sieve rejects only people the pass would ignore.
 */
import type { Person, ReferrerSieve } from '../engine/index.js';
import type { SnapshotEntry } from '../store/snapshot-cache.js';
import { decodeSnapshot, revivesAsDate } from '../store/snapshot-cache.js';
import { topLevelString } from '../store/top-level-string.js';

/**
 * Whether the engine must see this cached person in its referrer pass. The cache is keyed by the
 * record's own id (pull and push write `{ id: record.id }`), so the entry's id is the person's.
 */
export function needsReferrerDecode(sieve: ReferrerSieve, entry: SnapshotEntry): boolean {
  if (sieve.needsId(entry.id)) return true;
  if (!sieve.wantsEmails) return false;
  const email = topLevelString(entry.json, 'email');
  if (email === undefined) return false;
  // Not a plain string once decoded (not a string at all, or an instant revived as a Date): let the
  // engine see the record exactly as it always did.
  if (email === null || revivesAsDate(email)) return true;
  return sieve.needsEmail(email);
}

/** The people of a scanned batch the referrer pass needs, decoded, in scan order. */
export function decodeReferrerCandidates(sieve: ReferrerSieve, batch: readonly SnapshotEntry[]): Person[] {
  const out: Person[] = [];
  for (const e of batch) if (needsReferrerDecode(sieve, e)) out.push(decodeSnapshot<Person>(e.json));
  return out;
}
