/**
 * A `ReferrerDirectory` over Maps: the in-memory run fills it from the whole account; the pipeline
 * can fill one per page from prefetched Redis lookups (code / click / email / name-token indexes).
 */
import type { ClickRef, ReferrerDirectory, ReferrerRef, ReferrerType } from './attribution.js';
import type { Company, Person } from './model.js';
import { nameIndexKeys, nameQueryKeys } from './names.js';
import { personName } from './plan.js';
import { lowerTrim } from './util.js';

export class MapDirectory implements ReferrerDirectory {
  readonly codes = new Map<string, ReferrerRef>();
  readonly clicks = new Map<string, ClickRef>();
  readonly emails = new Map<string, ReferrerRef>();
  readonly names = new Map<string, ReferrerRef[]>();

  /** `code` must be normalised. The first referrer added for a key wins. */
  addCode(code: string, ref: ReferrerRef): void {
    if (!this.codes.has(code)) this.codes.set(code, ref);
  }
  addClick(clickId: string, ref: ReferrerRef, at?: number): void {
    if (!this.clicks.has(clickId))
      this.clicks.set(clickId, at === undefined ? { referrer: ref } : { referrer: ref, at });
  }
  addEmail(email: string, ref: ReferrerRef): void {
    const key = lowerTrim(email);
    if (key !== undefined && !this.emails.has(key)) this.emails.set(key, ref);
  }
  /** Index a referrer under its name keys (`nameIndexKeys`). */
  addName(ref: ReferrerRef): void {
    for (const t of nameIndexKeys(ref.name)) {
      const list = this.names.get(t);
      if (list === undefined) this.names.set(t, [ref]);
      else list.push(ref);
    }
  }

  byCode(code: string): ReferrerRef | undefined {
    return this.codes.get(code);
  }
  byClickId(clickId: string): ClickRef | undefined {
    return this.clicks.get(clickId);
  }
  byEmail(email: string): ReferrerRef | undefined {
    return this.emails.get(email);
  }
  byName(tokens: readonly string[]): readonly ReferrerRef[] {
    const seen = new Set<ReferrerRef>();
    for (const k of nameQueryKeys(tokens)) for (const r of this.names.get(k) ?? []) seen.add(r);
    return [...seen];
  }
}

/** The referrer type of a person: employee, partner (works at a partner company) or customer. */
export function referrerTypeOf(person: Person, partnerCompanyIds: ReadonlySet<string>): ReferrerType {
  if (person.isEmployee === true) return 'employee';
  if (person.companyId !== undefined && partnerCompanyIds.has(person.companyId)) return 'partner';
  return 'customer';
}

export function referrerRefOf(person: Person, partnerCompanyIds: ReadonlySet<string>): ReferrerRef {
  const ref: ReferrerRef = {
    id: person.id,
    type: referrerTypeOf(person, partnerCompanyIds),
    name: personName(person),
  };
  if (person.email !== undefined) ref.email = person.email;
  if (person.companyId !== undefined) ref.companyId = person.companyId;
  if (person.ownerId !== undefined) ref.ownerId = person.ownerId;
  return ref;
}

export function partnerIds(companies: Iterable<Company>): Set<string> {
  const out = new Set<string>();
  for (const c of companies) if (c.isPartner === true) out.add(c.id);
  return out;
}
