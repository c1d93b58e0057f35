/**
 * Which people the referrer pass (`EngineRun.indexReferrers`) can act on, known before a person is
 * decoded: by id and email alone.
 *
 * Why: that pass looks at every person of the account but keeps a ref for very few (the referrers
 * captures name), and a streaming caller spent most of it decoding people only to skip them. A
 * person the sieve rejects would change nothing in the pass, so feeding only the ones it accepts,
 * in the same order, gives exactly the same directory.
 */
import type { FilteredIdSet } from './id-map.js';
import { lowerTrim } from './util.js';

export class ReferrerSieve {
  constructor(
    /** Ids earlier attributions name (`referred_by_contact_id`). */
    private readonly referrers: FilteredIdSet,
    /** Holders of the codes the captures look up (of every code when name keys are wanted). */
    private readonly holders: FilteredIdSet,
    /** Lower-trimmed referrer emails the captures give. */
    private readonly emails: ReadonlySet<string>,
  ) {}

  /** Whether any email is wanted (if not, callers need not read emails at all). */
  get wantsEmails(): boolean {
    return this.emails.size > 0;
  }

  /** Whether a person with this id must be fed to `indexReferrers` whatever its email. */
  needsId(id: string): boolean {
    return this.referrers.has(id) || this.holders.has(id);
  }

  /**
   * Whether a person with this email (as the record holds it, not normalised) must be fed. A
   * person neither `needsId` nor `needsEmail` accepts (or without an email) changes nothing there.
   */
  needsEmail(email: string): boolean {
    if (this.emails.size === 0) return false;
    const key = lowerTrim(email);
    return key !== undefined && this.emails.has(key);
  }
}
