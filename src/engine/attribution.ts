/**
 * Attribution of one referred person to a referrer (PRODUCT.md F-ATTR).
 *
 * Match order: referral code → link click id → referrer email → free-text name. The first three
 * credit; a name match is fuzzy and only ever creates a review task. A typo'd code (check symbol
 * fails) is never credited either: if exactly one known code is one typo away it is suggested for
 * review. Rules: no self-referral (same record, merged/converted twin, same email, same non-public
 * email domain in consumer programs), the referred person must be new (created shortly before the
 * capture) and not already a customer, a click must be inside its window, and the first valid
 * referral wins (`existing`). Every decision carries a reason code and a text.
 *
 * The directory is implemented by the caller (a Map in the in-memory run, a prefetched page of
 * Redis lookups in the pipeline), so this stays synchronous and pure.
 */
import { codeProblem, normalizeCode, typoCandidates } from './codes.js';
import type { Person } from './model.js';
import { nameSimilarity, nameTokens } from './names.js';
import type { Rules } from './rules.js';
import { DAY_MS } from './rules.js';
import { emailDomain, isoDay, lowerTrim, ms } from './util.js';

export type ReferrerType = 'customer' | 'partner' | 'employee';

/** What the engine needs to know about a referrer. */
export interface ReferrerRef {
  id: string;
  type: ReferrerType;
  /** Display name ("Jane Doe"); written to `referred_by_name`. */
  name?: string;
  email?: string;
  /** The partner company for `partner` referrers (also set for others when known). */
  companyId?: string;
  ownerId?: string;
}

export interface ClickRef {
  referrer: ReferrerRef;
  /** When the link was clicked (epoch ms), if known. */
  at?: number;
}

/** Synchronous lookups; keys are normalised by the engine before the call. */
export interface ReferrerDirectory {
  /** `code` is normalised (`normalizeCode`) and valid. */
  byCode(code: string): ReferrerRef | undefined;
  byClickId(clickId: string): ClickRef | undefined;
  /** `email` is trimmed and lower-cased. */
  byEmail(email: string): ReferrerRef | undefined;
  /**
   * Referrers that may be named in a free text whose `nameTokens` are `tokens`: those indexed under
   * `nameIndexKeys(name)` for any of `nameQueryKeys(tokens)` (names.ts). The engine scores them.
   */
  byName(tokens: readonly string[]): readonly ReferrerRef[];
  /**
   * Optional faster form of `byName`: the same referrers already scored (`nameSimilarity` of the
   * tokens and the referrer's name), only those scoring at least `minScore`, each ref built on
   * demand. Used instead of `byName` when present (the in-memory run scores thousands of
   * candidates per capture at 1M people and needs a ref only for the winner).
   */
  byNameScored?(tokens: readonly string[], minScore: number): readonly ScoredName[];
}

/** A `byNameScored` result: the referrer's id, its name score, and its ref on demand. */
export interface ScoredName {
  id: string;
  score: number;
  ref(): ReferrerRef;
}

export type AttributionMethod = 'code' | 'click' | 'email' | 'name';

export interface PriorAttribution {
  referrer: ReferrerRef;
  method: AttributionMethod | 'manual';
  /** Epoch ms of the capture that was credited. */
  capturedAt: number;
}

export type AttributionStatus = 'credited' | 'review' | 'rejected' | 'none';

export const ATTRIBUTION_REASONS = [
  // credited
  'matched_code',
  'matched_click',
  'matched_email',
  'kept_first',
  'already_attributed',
  // review
  'fuzzy_name',
  'code_typo',
  // rejected
  'self_referral',
  'not_new',
  'existing_customer',
  'outside_window',
  'invalid_code',
  'unknown_code',
  'unknown_click',
  'unknown_email',
  // none
  'no_capture',
  'no_match',
  'converted_record',
] as const;
export type AttributionReason = (typeof ATTRIBUTION_REASONS)[number];

export interface AttributionNote {
  reason: AttributionReason;
  text: string;
}

export interface AttributionDecision {
  referredId: string;
  status: AttributionStatus;
  reason: AttributionReason;
  text: string;
  method?: AttributionMethod | 'manual';
  referrer?: ReferrerRef;
  /** Epoch ms of the referral capture (capture date, else the person's creation, else now). */
  capturedAt: number;
  /** Name similarity (0–1) for `name` matches. */
  confidence?: number;
  /** For a typo'd code: the one known code one typo away. */
  suggestion?: { code: string; referrer: ReferrerRef };
  /** The normalised code as captured (for `referral_code_used`). */
  codeUsed?: string;
  /** Problems met on the way (e.g. an unknown code before an email matched). */
  notes: AttributionNote[];
}

export interface AttributionContext {
  now: number | Date;
  rules: Rules;
  directory: ReferrerDirectory;
  /** The referred person's earlier credited attribution: first valid referral wins. */
  existing?: PriorAttribution;
}

interface Match {
  referrer: ReferrerRef;
  method: AttributionMethod;
  reason: AttributionReason;
  text: string;
}

function who(r: ReferrerRef): string {
  return r.name !== undefined && r.name !== '' ? r.name : r.id;
}

/** Why `referrer` may not refer `referred`, or null. */
export function selfReferral(referred: Person, referrer: ReferrerRef, rules: Rules): string | null {
  if (referrer.id === referred.id) return 'referrer is the referred person';
  if (
    referred.convertedFromId === referrer.id ||
    referred.convertedToId === referrer.id ||
    (referred.mergedIds?.includes(referrer.id) ?? false)
  ) {
    return 'referrer is the same person (converted or merged record)';
  }
  const a = lowerTrim(referred.email);
  const b = lowerTrim(referrer.email);
  if (a !== undefined && a === b) return `same email ${a}`;
  if (rules.attribution.consumerProgram && a !== undefined && b !== undefined) {
    const da = emailDomain(a);
    if (da !== undefined && da === emailDomain(b) && !rules.attribution.publicEmailDomains.includes(da)) {
      return `same email domain ${da} (consumer program)`;
    }
  }
  return null;
}

/** Why the referred person does not count as a new prospect at `capturedAt`, or null. */
function notNew(referred: Person, capturedAt: number, rules: Rules): AttributionNote | null {
  const since = ms(referred.customerSince);
  if (since < capturedAt) {
    return { reason: 'existing_customer', text: `already a customer since ${isoDay(since)}` };
  }
  const created = ms(referred.createdAt);
  if (created < capturedAt - rules.attribution.newWithinDays * DAY_MS) {
    return {
      reason: 'not_new',
      text: `record created ${isoDay(created)}, more than ${rules.attribution.newWithinDays} days before the referral`,
    };
  }
  return null;
}

export function captureInstant(person: Person, now: number): number {
  const c = ms(person.capture?.capturedAt);
  if (!Number.isNaN(c)) return c;
  const created = ms(person.createdAt);
  return Number.isNaN(created) ? now : created;
}

/**
 * A decision with its keys in one fixed order (referredId, capturedAt, notes, codeUsed?, status,
 * reason, text, method?, referrer?). Built as plain literals: object spreads followed by more
 * properties take a slow runtime path per property (a quarter of the attribution phase at 1M).
 */
function decision(
  referredId: string,
  capturedAt: number,
  notes: AttributionNote[],
  codeUsed: string | undefined,
  status: AttributionStatus,
  reason: AttributionReason,
  text: string,
  method?: AttributionMethod | 'manual',
  referrer?: ReferrerRef,
): AttributionDecision {
  const d: AttributionDecision =
    codeUsed === undefined
      ? { referredId, capturedAt, notes, status, reason, text }
      : { referredId, capturedAt, notes, codeUsed, status, reason, text };
  if (method !== undefined) d.method = method;
  if (referrer !== undefined) d.referrer = referrer;
  return d;
}

/**
 * The best of the scored names (highest score, then lowest id) that is not a self-referral. A
 * selection, not a sort: a free text can match a hundred similar names and only the winner counts.
 */
function bestName(
  good: readonly ScoredName[],
  referred: Person,
  rules: Rules,
): { ref: ReferrerRef; score: number } | undefined {
  let skipped: Set<ScoredName> | undefined;
  for (;;) {
    let best: ScoredName | undefined;
    for (const g of good) {
      if (skipped?.has(g) === true) continue;
      if (best === undefined || g.score > best.score || (g.score === best.score && g.id < best.id)) best = g;
    }
    if (best === undefined) return undefined;
    const r = best.ref();
    if (selfReferral(referred, r, rules) === null) return { ref: r, score: best.score };
    (skipped ??= new Set()).add(best);
  }
}

export function attributeReferral(referred: Person, ctx: AttributionContext): AttributionDecision {
  const now = typeof ctx.now === 'number' ? ctx.now : ctx.now.getTime();
  const { rules, directory } = ctx;
  const capture = referred.capture;
  const capturedAt = captureInstant(referred, now);
  const notes: AttributionNote[] = [];
  const referredId = referred.id;

  if (referred.kind === 'lead' && referred.convertedToId !== undefined) {
    return decision(
      referredId,
      capturedAt,
      notes,
      undefined,
      'none',
      'converted_record',
      `lead converted to ${referred.convertedToId}; attributed on that record`,
    );
  }

  // ---- Candidate matches in order; the first that is not a self-referral is selected.
  const matches: Match[] = [];
  let codeUsed: string | undefined;
  let suggestion: AttributionDecision['suggestion'];
  const rawCode = capture?.codeUsed?.trim();
  if (rawCode !== undefined && rawCode !== '') {
    const code = normalizeCode(rawCode);
    codeUsed = code;
    const problem = codeProblem(code);
    if (problem === null) {
      const r = directory.byCode(code);
      if (r !== undefined)
        matches.push({ referrer: r, method: 'code', reason: 'matched_code', text: `code ${code}` });
      else notes.push({ reason: 'unknown_code', text: `code ${code} is valid but not issued to anyone` });
    } else if (problem === 'check') {
      const found: { code: string; referrer: ReferrerRef }[] = [];
      for (const c of typoCandidates(code)) {
        const r = directory.byCode(c);
        if (r !== undefined) found.push({ code: c, referrer: r });
      }
      if (found.length === 1) suggestion = found[0]!;
      notes.push({
        reason: 'invalid_code',
        text:
          `code ${code} has a typo (check character fails)` +
          (suggestion !== undefined
            ? `; did they mean ${suggestion.code} (${who(suggestion.referrer)})?`
            : ''),
      });
    } else {
      notes.push({ reason: 'invalid_code', text: `code "${rawCode}" is not a referral code (${problem})` });
    }
  }
  const clickId = capture?.clickId?.trim();
  if (clickId !== undefined && clickId !== '') {
    const c = directory.byClickId(clickId);
    if (c === undefined) notes.push({ reason: 'unknown_click', text: `click id ${clickId} not found` });
    else if (c.at !== undefined && capturedAt - c.at > rules.attribution.clickWindowDays * DAY_MS) {
      notes.push({
        reason: 'outside_window',
        text: `link clicked ${isoDay(c.at)}, more than ${rules.attribution.clickWindowDays} days before the capture`,
      });
    } else
      matches.push({
        referrer: c.referrer,
        method: 'click',
        reason: 'matched_click',
        text: `link click ${clickId}`,
      });
  }
  const email = lowerTrim(capture?.referrerEmail);
  if (email !== undefined) {
    const r = directory.byEmail(email);
    if (r !== undefined)
      matches.push({
        referrer: r,
        method: 'email',
        reason: 'matched_email',
        text: `referrer email ${email}`,
      });
    else notes.push({ reason: 'unknown_email', text: `no referrer with email ${email}` });
  }

  let selected: Match | undefined;
  for (const m of matches) {
    const self = selfReferral(referred, m.referrer, rules);
    if (self === null) {
      selected = m;
      break;
    }
    notes.push({ reason: 'self_referral', text: `${m.text}: ${self}` });
  }

  // ---- First valid referral wins.
  if (ctx.existing !== undefined) {
    const ex = ctx.existing;
    const conflict = selected !== undefined && selected.referrer.id !== ex.referrer.id;
    // Here `codeUsed` comes last (after the referrer), as it always has in this decision.
    const kept = decision(
      referredId,
      ex.capturedAt,
      notes,
      undefined,
      'credited',
      conflict ? 'already_attributed' : 'kept_first',
      conflict
        ? `already attributed to ${who(ex.referrer)} (${ex.method}, ${isoDay(ex.capturedAt)}); ${selected!.text} → ${who(selected!.referrer)} ignored`
        : `referred by ${who(ex.referrer)} (${ex.method}, ${isoDay(ex.capturedAt)})`,
      ex.method,
      ex.referrer,
    );
    if (codeUsed !== undefined) kept.codeUsed = codeUsed;
    return kept;
  }

  if (selected !== undefined) {
    const stale = notNew(referred, capturedAt, rules);
    if (stale !== null) {
      return decision(
        referredId,
        capturedAt,
        notes,
        codeUsed,
        'rejected',
        stale.reason,
        `${selected.text} → ${who(selected.referrer)}: ${stale.text}`,
        selected.method,
        selected.referrer,
      );
    }
    return decision(
      referredId,
      capturedAt,
      notes,
      codeUsed,
      'credited',
      selected.reason,
      `referred by ${who(selected.referrer)} (${selected.text})`,
      selected.method,
      selected.referrer,
    );
  }

  // ---- Review: a typo'd code with one known neighbour, else a fuzzy name.
  let review:
    { referrer: ReferrerRef; reason: AttributionReason; text: string; confidence?: number } | undefined;
  if (suggestion !== undefined && selfReferral(referred, suggestion.referrer, rules) === null) {
    review = {
      referrer: suggestion.referrer,
      reason: 'code_typo',
      text: `code ${codeUsed} looks like a typo of ${suggestion.code} (${who(suggestion.referrer)}); review`,
    };
  } else if (capture?.howHeard !== undefined) {
    const tokens = nameTokens(capture.howHeard);
    if (tokens.length > 0) {
      // Score first, then rule out self-referral only for the ones good enough (cheaper: the
      // self check compares emails and ids, and most candidates score far below the minimum).
      const minScore = rules.attribution.fuzzyMinScore;
      let good: readonly ScoredName[];
      if (directory.byNameScored !== undefined) {
        good = directory.byNameScored(tokens, minScore);
      } else {
        const list: ScoredName[] = [];
        for (const r of directory.byName(tokens)) {
          const score = nameSimilarity(tokens, r.name);
          if (score >= minScore) list.push({ id: r.id, score, ref: () => r });
        }
        good = list;
      }
      const found = bestName(good, referred, rules);
      const best = found?.ref;
      const bestScore = found?.score ?? 0;
      if (best !== undefined && bestScore >= rules.attribution.fuzzyMinScore) {
        review = {
          referrer: best,
          reason: 'fuzzy_name',
          confidence: Math.round(bestScore * 100) / 100,
          text: `"${capture.howHeard.trim()}" resembles ${who(best)} (${Math.round(bestScore * 100)} %); review, not credited`,
        };
      } else if (notes.length === 0) {
        notes.push({ reason: 'no_match', text: `"${capture.howHeard.trim()}" names no known referrer` });
      }
    }
  }
  if (review !== undefined) {
    const stale = notNew(referred, capturedAt, rules);
    if (stale !== null) {
      return decision(
        referredId,
        capturedAt,
        notes,
        codeUsed,
        'rejected',
        stale.reason,
        `${review.text}: ${stale.text}`,
        'name',
        review.referrer,
      );
    }
    const d = decision(
      referredId,
      capturedAt,
      notes,
      codeUsed,
      'review',
      review.reason,
      review.text,
      review.reason === 'code_typo' ? 'code' : 'name',
      review.referrer,
    );
    if (review.confidence !== undefined) d.confidence = review.confidence;
    if (suggestion !== undefined && review.reason === 'code_typo') d.suggestion = suggestion;
    return d;
  }

  const first = notes.find((n) => n.reason !== 'no_match');
  if (first !== undefined) {
    return decision(referredId, capturedAt, notes, codeUsed, 'rejected', first.reason, first.text);
  }
  if (notes.length > 0)
    return decision(referredId, capturedAt, notes, undefined, 'none', 'no_match', notes[0]!.text);
  return decision(referredId, capturedAt, notes, undefined, 'none', 'no_capture', 'no referral captured');
}

/** Whether a person carries any referral capture worth attributing. */
export function hasCapture(p: Person): boolean {
  const c = p.capture;
  return (
    c !== undefined &&
    ((c.codeUsed !== undefined && c.codeUsed.trim() !== '') ||
      (c.clickId !== undefined && c.clickId.trim() !== '') ||
      (c.referrerEmail !== undefined && c.referrerEmail.trim() !== '') ||
      (c.howHeard !== undefined && c.howHeard.trim() !== ''))
  );
}
