/**
 * `runEngine`: the whole engine over an in-memory account snapshot (tests, benchmark, small
 * tenants, dry runs). It composes the per-record functions the streaming pipeline calls itself:
 *
 *   1. indexes: spend histogram (stats), codes/emails/names/clicks (directory), tickets by person
 *   2. attribution of every captured referral (first valid wins: an earlier credited referral is
 *      read back from the person's `referred_by_contact_id`, so CRM values act as the ledger)
 *   3. deals: attribution fields, credit of won deals inside the window, thank-you tasks
 *   4. roll-ups per referrer (tiers, rewards) and partner companies
 *   5. people: evaluation, code issuance, plan; ask candidates are held back
 *   6. asks scheduled under the per-owner daily caps (score desc, id), their plans and tasks
 *
 * Plans go to `onPlan` when given (nothing retained: a 1M-person run stays small), else they are
 * returned. Deterministic for the same snapshot, `now`, rules and random source.
 */
import type { AskCandidate } from './asks.js';
import { OwnerBudget, askCandidate, isAskCandidate, scheduleAsks } from './asks.js';
import type {
  AttributionDecision,
  ClickRef,
  PriorAttribution,
  ReferrerDirectory,
  ReferrerRef,
  ScoredName,
} from './attribution.js';
import { attributeReferral, hasCapture } from './attribution.js';
import type { RandomSource } from './codes.js';
import { CodeIssuer, codeProblem, normalizeCode, referralLink } from './codes.js';
import type { PartnerRollup, ReferralRecord, ReferrerRollup } from './credit.js';
import { creditDeal, emptyPartnerRollup, rollupReferrer } from './credit.js';
import { partnerIds, referrerRefOf } from './directory.js';
import { NameQuery, nameKeysOfTokens, nameQueryKeys, nameTokens } from './names.js';
import type { Company, Deal, Owner, Person, Ticket } from './model.js';
import type { DealAttribution, EngineTask, RecordPlan } from './plan.js';
import {
  askTaskKey,
  buildTask,
  desiredCompany,
  desiredDeal,
  desiredPerson,
  diffOwned,
  followUpTaskKey,
  formatMoney,
  NO_VALUES,
  personName,
  recentOccasion,
  reviewTaskKey,
  rewardTaskKey,
  thankTaskKey,
} from './plan.js';
import type { PersonEvaluation } from './readiness.js';
import { evaluatePerson, reasonsText } from './readiness.js';
import type { Report } from './report.js';
import { ReportAccumulator } from './report.js';
import type { Rules } from './rules.js';
import { DAY_MS, DEFAULT_RULES } from './rules.js';
import { SpendHistogram, statsFromHistogram } from './stats.js';
import { lowerTrim, ms } from './util.js';

export interface LinkClick {
  clickId: string;
  /** The referral code the clicked link carried. */
  code: string;
  at?: Date;
}

export interface EngineSnapshot {
  people: readonly Person[];
  companies: readonly Company[];
  deals: readonly Deal[];
  tickets: readonly Ticket[];
  owners: readonly Owner[];
  /** Referral link clicks recorded by the landing page, if any. */
  clicks?: readonly LinkClick[];
}

export type PlanKind = 'person' | 'deal' | 'company';

export interface EngineOptions {
  now: number | Date;
  rules?: Rules;
  /** Random source for new codes (default crypto); or a ready issuer. */
  random?: RandomSource;
  codeIssuer?: CodeIssuer;
  /** Referral link template with `{code}`. */
  linkTemplate: string;
  /** Remaining new-ask budget per owner today (default: the daily cap for everyone). */
  ownerBudgets?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /**
   * Codes we issued earlier (person id → code, from the pipeline's last-written values): a person
   * whose CRM value was cleared or garbled gets the same code back, and nobody else gets it.
   */
  previousCodes?: ReadonlyMap<string, string>;
  /** Receives every plan instead of the result retaining it. */
  onPlan?: (kind: PlanKind, plan: RecordPlan) => void;
  /** Retain plans without changes in the result (default true; ignored with `onPlan`). */
  keepUnchanged?: boolean;
}

export interface EngineCounts {
  people: number;
  deals: number;
  companies: number;
  /** Records with at least one change, per kind. */
  changed: Record<PlanKind, number>;
  /** Changes per owned field, per kind (`fieldChanges.person.referral_ready`: 1234). */
  fieldChanges: Record<PlanKind, Record<string, number>>;
  codesIssued: number;
  asksScheduled: number;
  asksDeferred: number;
  dealsCredited: number;
}

export interface EngineResult {
  personPlans: RecordPlan[];
  dealPlans: RecordPlan[];
  companyPlans: RecordPlan[];
  tasks: EngineTask[];
  /** One per person with a referral capture. */
  decisions: AttributionDecision[];
  report: Report;
  /** The earliest `nextChangeAt` over everyone: when to re-run with no data change. */
  nextEvaluationAt: Date | null;
  counts: EngineCounts;
  /** Wall time per phase (ms): indexes, attribution, deals, rollups, people, asks. */
  timingsMs: Record<string, number>;
}

interface LedgerEntry extends ReferralRecord {
  referred: Person | null;
}

const NO_TICKETS: readonly Ticket[] = [];

/**
 * The whole account's referrer directory. Holds people, not `ReferrerRef`s: refs are built only
 * for the few people actually looked up (half a million eager refs cost ~100 MB at 1M people).
 * Free-text names are indexed only under the keys the captured texts will look up
 * (`indexNames`), and `byName` returns only candidates scoring at least the fuzzy minimum: the
 * attribution discards the others anyway, and building (and caching) a ref for each of them made
 * the attribution phase allocate ~2 KB per capture at 1M people.
 */
class AccountDirectory implements ReferrerDirectory {
  private readonly codes = new Map<string, Person>();
  private readonly emails = new Map<string, Person>();
  /** Name key → code holders with their name tokens joined (scored without re-tokenising). */
  private readonly names = new Map<string, { p: Person; target: string; count: number }[]>();
  private readonly clicks = new Map<string, { code: string; at: number }>();

  constructor(
    private readonly refOf: (p: Person) => ReferrerRef,
    private readonly minNameScore: number,
  ) {}

  addCode(code: string, p: Person): void {
    this.codes.set(code, p);
  }
  /** Index `holders` (code holders, in account order) under the name keys in `wanted` only. */
  indexNames(holders: Iterable<Person>, wanted: ReadonlySet<string>): void {
    if (wanted.size === 0) return;
    for (const p of holders) {
      const tokens = nameTokens(personName(p));
      let entry: { p: Person; target: string; count: number } | undefined;
      for (const key of nameKeysOfTokens(tokens)) {
        if (!wanted.has(key)) continue;
        entry ??= { p, target: tokens.join(' '), count: tokens.length };
        const list = this.names.get(key);
        if (list === undefined) this.names.set(key, [entry]);
        else list.push(entry);
      }
    }
  }
  addEmail(email: string, p: Person): void {
    const key = lowerTrim(email);
    if (key !== undefined && !this.emails.has(key)) this.emails.set(key, p);
  }
  addClick(clickId: string, code: string, at: number): void {
    if (!this.clicks.has(clickId)) this.clicks.set(clickId, { code, at });
  }

  byCode(code: string): ReferrerRef | undefined {
    const p = this.codes.get(code);
    return p === undefined ? undefined : this.refOf(p);
  }
  byClickId(clickId: string): ClickRef | undefined {
    const c = this.clicks.get(clickId);
    const p = c === undefined ? undefined : this.codes.get(c.code);
    if (p === undefined) return undefined;
    return Number.isNaN(c!.at) ? { referrer: this.refOf(p) } : { referrer: this.refOf(p), at: c!.at };
  }
  byEmail(email: string): ReferrerRef | undefined {
    const p = this.emails.get(email);
    return p === undefined ? undefined : this.refOf(p);
  }
  byName(tokens: readonly string[]): readonly ReferrerRef[] {
    return this.byNameScored(tokens, this.minNameScore).map((c) => c.ref());
  }
  byNameScored(tokens: readonly string[], minScore: number): readonly ScoredName[] {
    const query = new NameQuery(tokens);
    const seen = new Set<Person>();
    const out: ScoredName[] = [];
    for (const key of nameQueryKeys(tokens)) {
      const list = this.names.get(key);
      if (list === undefined) continue;
      for (const { p, target, count } of list) {
        if (seen.has(p)) continue;
        seen.add(p);
        // The score `nameSimilarity(tokens, personName(p))` gives (NameQuery's contract).
        const score = query.similarity(target, count);
        if (score >= minScore) out.push({ id: p.id, score, ref: () => this.refOf(p) });
      }
    }
    return out;
  }
}

export function runEngine(snapshot: EngineSnapshot, options: EngineOptions): EngineResult {
  const now = typeof options.now === 'number' ? options.now : options.now.getTime();
  const rules = options.rules ?? DEFAULT_RULES;
  const issuer = options.codeIssuer ?? new CodeIssuer(options.random);
  const keepUnchanged = options.keepUnchanged ?? true;
  const report = new ReportAccumulator();
  const tasks: EngineTask[] = [];
  const decisions: AttributionDecision[] = [];
  const result: EngineResult = {
    personPlans: [],
    dealPlans: [],
    companyPlans: [],
    tasks,
    decisions,
    report: undefined as unknown as Report,
    nextEvaluationAt: null,
    timingsMs: {},
    counts: {
      people: snapshot.people.length,
      deals: snapshot.deals.length,
      companies: snapshot.companies.length,
      changed: { person: 0, deal: 0, company: 0 },
      fieldChanges: { person: {}, deal: {}, company: {} },
      codesIssued: 0,
      asksScheduled: 0,
      asksDeferred: 0,
      dealsCredited: 0,
    },
  };
  const counts = result.counts;
  let phaseStart = performance.now();
  const phase = (name: string): void => {
    const t = performance.now();
    result.timingsMs[name] = Math.round(t - phaseStart);
    phaseStart = t;
  };
  const emit = (
    kind: PlanKind,
    id: string,
    desired: RecordPlan['desired'],
    current: Person['current'],
  ): void => {
    const changes = diffOwned(desired, current);
    let changed = false;
    const perField = counts.fieldChanges[kind];
    for (const k in changes) {
      changed = true;
      perField[k] = (perField[k] ?? 0) + 1;
    }
    if (changed) counts.changed[kind]++;
    const plan = { id, desired, changes };
    if (options.onPlan !== undefined) options.onPlan(kind, plan);
    else if (changed || keepUnchanged) {
      (kind === 'person'
        ? result.personPlans
        : kind === 'deal'
          ? result.dealPlans
          : result.companyPlans
      ).push(plan);
    }
  };

  // ---- 1. Indexes
  const partners = partnerIds(snapshot.companies);
  const histogram = new SpendHistogram();
  const refCache = new Map<string, ReferrerRef>();
  const refOf = (p: Person): ReferrerRef => {
    let r = refCache.get(p.id);
    if (r === undefined) refCache.set(p.id, (r = referrerRefOf(p, partners)));
    return r;
  };
  const directory = new AccountDirectory(refOf, rules.attribution.fuzzyMinScore);
  const codeHolders: Person[] = [];
  const takenCodes = new Set<string>();
  /** Code → the person keeping it (a duplicate stored code goes to the first person only). */
  const codeOwner = new Map<string, string>();
  // Pass 1: stats, stored codes (the whole code space, for uniqueness), and the people carrying a
  // referral capture or an earlier attribution, with the emails and ids they point to.
  const captured: Person[] = [];
  const wantedReferrers = new Set<string>();
  const wantedEmails = new Set<string>();
  for (const p of snapshot.people) {
    histogram.addPerson(p);
    const cur = p.current ?? NO_VALUES;
    const stored = cur.referral_code;
    if (typeof stored === 'string') {
      const code = normalizeCode(stored);
      if (codeProblem(code) === null && !codeOwner.has(code)) {
        codeOwner.set(code, p.id);
        takenCodes.add(code);
        directory.addCode(code, p);
        codeHolders.push(p);
      }
    }
    const by = cur.referred_by_contact_id;
    const hasPrior = typeof by === 'string' && by !== '';
    if (hasPrior) wantedReferrers.add(by);
    if (hasPrior || hasCapture(p)) {
      captured.push(p);
      const email = lowerTrim(p.capture?.referrerEmail);
      if (email !== undefined) wantedEmails.add(email);
    }
  }
  // Pass 2 (only when needed): index just the people those captures name, not every email of the
  // account (half a million Map entries at 1M people, for a few thousand lookups).
  const byId = new Map<string, Person>();
  if (wantedEmails.size > 0 || wantedReferrers.size > 0) {
    for (const p of snapshot.people) {
      if (wantedReferrers.has(p.id)) byId.set(p.id, p);
      if (p.email === undefined || wantedEmails.size === 0) continue;
      const email = lowerTrim(p.email);
      if (email === undefined || !wantedEmails.has(email)) continue;
      // Possible referrers by email: customers, employees, code holders, partners' people.
      if (
        codeOwner.get(normalizeCode(String((p.current ?? NO_VALUES).referral_code ?? ''))) === p.id ||
        p.isCustomer === true ||
        p.isEmployee === true ||
        (p.companyId !== undefined && partners.has(p.companyId))
      ) {
        directory.addEmail(email, p);
      }
    }
  }
  // Free-text names: index code holders only under the keys the captured texts look up.
  const wantedNames = new Set<string>();
  for (const p of captured) {
    const text = p.capture?.howHeard;
    if (text !== undefined) for (const key of nameQueryKeys(nameTokens(text))) wantedNames.add(key);
  }
  directory.indexNames(codeHolders, wantedNames);
  codeHolders.length = 0;
  for (const c of snapshot.clicks ?? []) directory.addClick(c.clickId, normalizeCode(c.code), ms(c.at));
  const stats = statsFromHistogram(histogram, rules);
  const ticketsByPerson = new Map<string, Ticket[]>();
  for (const t of snapshot.tickets) {
    for (const pid of t.personIds) {
      const list = ticketsByPerson.get(pid);
      if (list === undefined) ticketsByPerson.set(pid, [t]);
      else list.push(t);
    }
  }

  phase('indexes');

  // ---- 2. Attribution
  const ledger = new Map<string, Map<string, LedgerEntry>>();
  const referrers = new Map<string, ReferrerRef>();
  const credited = new Map<string, AttributionDecision>();
  const partnerRollups = new Map<string, PartnerRollup>();
  const partnerOf = (id: string): PartnerRollup => {
    let r = partnerRollups.get(id);
    if (r === undefined) partnerRollups.set(id, (r = emptyPartnerRollup()));
    return r;
  };
  const addLedger = (
    referrer: ReferrerRef,
    referredId: string,
    referred: Person | null,
    capturedAt: number,
  ): void => {
    referrers.set(referrer.id, referrer);
    let entries = ledger.get(referrer.id);
    if (entries === undefined) ledger.set(referrer.id, (entries = new Map()));
    if (!entries.has(referredId)) {
      entries.set(referredId, { referredId, referred, capturedAt, convertedAt: null, revenue: 0 });
      if (referrer.type === 'partner' && referrer.companyId !== undefined)
        partnerOf(referrer.companyId).sent++;
      const rc = referred?.companyId;
      if (rc !== undefined && partners.has(rc)) partnerOf(rc).received++;
    }
  };
  for (const p of captured) {
    const cur = p.current ?? NO_VALUES;
    const priorId = cur.referred_by_contact_id;
    const hasPrior = typeof priorId === 'string' && priorId !== '';
    let existing: PriorAttribution | undefined;
    if (hasPrior) {
      const known = byId.get(priorId);
      const referrer: ReferrerRef = known !== undefined ? refOf(known) : { id: priorId, type: 'customer' };
      if (known === undefined && typeof cur.referred_by_name === 'string')
        referrer.name = cur.referred_by_name;
      const m = cur.referral_attribution_method;
      existing = {
        referrer,
        method: m === 'code' || m === 'click' || m === 'email' || m === 'name' ? m : 'manual',
        capturedAt: ms(p.capture?.capturedAt) || ms(p.createdAt) || now,
      };
      if (Number.isNaN(existing.capturedAt)) existing.capturedAt = now;
    }
    const d = attributeReferral(
      p,
      existing === undefined ? { now, rules, directory } : { now, rules, directory, existing },
    );
    decisions.push(d);
    report.addDecision(d);
    if (d.status === 'credited' && d.referrer !== undefined) {
      credited.set(p.id, d);
      addLedger(d.referrer, p.id, p, d.capturedAt);
      // Emitted on every run while recent (also when kept from an earlier run): the key makes it
      // idempotent, and a re-run must produce the same task set as the first.
      if (recentOccasion(d.capturedAt, now, rules)) {
        tasks.push(
          buildTask(
            'follow_up',
            followUpTaskKey(p.id, d.referrer.id),
            rules.tasks.followUp,
            { name: personName(p), referrer: d.referrer.name ?? d.referrer.id, method: d.method ?? '' },
            now,
            { personId: p.id, ownerId: p.ownerId, companyId: p.companyId },
          ),
        );
      }
    } else if (
      d.status === 'review' &&
      d.referrer !== undefined &&
      recentOccasion(d.capturedAt, now, rules)
    ) {
      tasks.push(
        buildTask(
          'review',
          reviewTaskKey(p.id),
          rules.tasks.review,
          { name: personName(p), referrer: d.referrer.name ?? d.referrer.id, reasons: d.text },
          now,
          { personId: p.id, ownerId: p.ownerId, companyId: p.companyId },
        ),
      );
    }
  }

  phase('attribution');

  // ---- 3. Deals
  for (const deal of snapshot.deals) {
    let decision: AttributionDecision | undefined;
    let referredId: string | undefined;
    for (const pid of deal.personIds) {
      decision = credited.get(pid);
      if (decision !== undefined) {
        referredId = pid;
        break;
      }
    }
    let attribution: DealAttribution | null = null;
    if (decision !== undefined && decision.referrer !== undefined && referredId !== undefined) {
      const referrer = decision.referrer;
      const credit = creditDeal(deal, decision.capturedAt, rules);
      const created = ms(deal.createdAt);
      const isReferralDeal = credit.credited || !(created < decision.capturedAt - DAY_MS);
      if (isReferralDeal) {
        attribution = {
          referrerId: referrer.id,
          referrerName: referrer.name ?? null,
          referrerType: referrer.type,
          codeUsed: decision.codeUsed ?? null,
        };
      }
      if (credit.credited) {
        counts.dealsCredited++;
        const entry = ledger.get(referrer.id)?.get(referredId);
        if (entry !== undefined) {
          entry.revenue += credit.amount;
          const wonAt = credit.wonAt ?? now;
          if (entry.convertedAt === null || wonAt < entry.convertedAt) entry.convertedAt = wonAt;
        }
        if (referrer.type === 'partner' && referrer.companyId !== undefined) {
          partnerOf(referrer.companyId).revenue += credit.amount;
        }
        if (recentOccasion(credit.wonAt ?? now, now, rules)) {
          tasks.push(
            buildTask(
              'thank',
              thankTaskKey(referrer.id, deal.id),
              rules.tasks.thank,
              {
                name: referrer.name ?? referrer.id,
                referred:
                  entry?.referred !== undefined && entry.referred !== null
                    ? personName(entry.referred)
                    : referredId,
                deal: deal.name ?? deal.id,
                amount: formatMoney(credit.amount, deal.amount?.currency ?? rules.rewards.currency),
              },
              now,
              {
                personId: referrer.id,
                ownerId: referrer.ownerId,
                dealId: deal.id,
                companyId: referrer.companyId,
              },
            ),
          );
        }
      }
    }
    emit('deal', deal.id, desiredDeal(deal, attribution), deal.current);
  }

  phase('deals');

  // ---- 4. Roll-ups per referrer, reward tasks
  const rollups = new Map<string, { rollup: ReferrerRollup; entries: ReferralRecord[] }>();
  for (const [referrerId, entries] of ledger) {
    const list = [...entries.values()];
    const rollup = rollupReferrer(list, rules);
    rollups.set(referrerId, { rollup, entries: list });
    const referrer = referrers.get(referrerId)!;
    for (const reward of rollup.rewards) {
      if (!recentOccasion(reward.at, now, rules)) continue;
      tasks.push(
        buildTask(
          'reward',
          rewardTaskKey(referrerId, reward.key),
          rules.tasks.reward,
          {
            name: referrer.name ?? referrerId,
            amount: formatMoney(reward.amount, rules.rewards.currency),
            reasons: reward.name,
          },
          now,
          { personId: referrerId, ownerId: referrer.ownerId, companyId: referrer.companyId },
        ),
      );
    }
  }
  for (const company of snapshot.companies) {
    const p = company.isPartner === true ? (partnerRollups.get(company.id) ?? emptyPartnerRollup()) : null;
    if (p !== null) report.addPartner(company, p);
    emit('company', company.id, desiredCompany(company, p), company.current);
  }

  phase('rollups');

  // ---- 5. People
  // Everything known about a person from other records, behind ONE lookup per person: three
  // Map probes per person (tickets, attribution, roll-up) were a fifth of this phase at 1M.
  interface Extra {
    tickets: readonly Ticket[];
    attribution: AttributionDecision | null;
    rollup: { rollup: ReferrerRollup; entries: ReferralRecord[] } | null;
  }
  const extras = new Map<string, Extra>();
  const extraOf = (id: string): Extra => {
    let x = extras.get(id);
    if (x === undefined) extras.set(id, (x = { tickets: NO_TICKETS, attribution: null, rollup: null }));
    return x;
  };
  for (const [id, list] of ticketsByPerson) extraOf(id).tickets = list;
  for (const [id, d] of credited) extraOf(id).attribution = d;
  for (const [id, r] of rollups) extraOf(id).rollup = r;
  const NONE: Extra = { tickets: NO_TICKETS, attribution: null, rollup: null };

  let nextAt = Infinity;
  // Ask candidates keep no evaluation: ~80k of them held their reasons and texts until the
  // schedule, promoting ~80 MB and forcing a full mark of the 1M-person heap (≈1 s). Evaluation
  // is deterministic, so a candidate is evaluated again when planned.
  const candidates: {
    person: Person;
    code: string | null;
    x: Extra;
    c: AskCandidate;
  }[] = [];
  // Codes issued earlier but no longer in the CRM stay reserved to their person.
  const reserved = new Map<string, string>();
  for (const [pid, c] of options.previousCodes ?? []) {
    const n = normalizeCode(c);
    if (!codeOwner.has(n) && !reserved.has(n)) reserved.set(n, pid);
  }
  const isTaken = (code: string): boolean => takenCodes.has(code) || reserved.has(code);
  const seenReferrers = new Set<string>();
  const planPerson = (
    p: Person,
    e: PersonEvaluation,
    code: string | null,
    x: Extra,
    askedAt: number | null,
  ): void => {
    const r = x.rollup;
    if (r !== null) {
      seenReferrers.add(p.id);
      report.addReferrer(referrers.get(p.id) ?? refOf(p), r.rollup, r.entries, e);
    }
    report.addPerson(p, e, askedAt !== null);
    const desired = desiredPerson({
      person: p,
      evaluation: e,
      code,
      link: code === null ? null : referralLink(options.linkTemplate, code),
      askedAt,
      attribution: x.attribution,
      rollup: r?.rollup ?? null,
      rules,
    });
    emit('person', p.id, desired, p.current);
  };
  const ctx = { now, rules, tickets: NO_TICKETS, stats };
  for (const p of snapshot.people) {
    const x = extras.get(p.id) ?? NONE;
    ctx.tickets = x.tickets;
    const e = evaluatePerson(p, ctx);
    if (e.nextChangeAt !== null && e.nextChangeAt < nextAt) nextAt = e.nextChangeAt;
    // Code: keep a valid stored one (stable); issue to advocates (or everyone) otherwise.
    let code: string | null = null;
    const stored = (p.current ?? NO_VALUES).referral_code;
    if (typeof stored === 'string') {
      const n = normalizeCode(stored);
      if (codeOwner.get(n) === p.id) code = n;
    }
    if (code === null) {
      // The CRM lost our code (a user cleared or garbled it): give the same code back, not a new one.
      const prev = options.previousCodes?.get(p.id);
      const n = prev === undefined ? '' : normalizeCode(prev);
      if (prev !== undefined && codeProblem(n) === null && reserved.get(n) === p.id && !codeOwner.has(n)) {
        code = n;
        codeOwner.set(n, p.id);
      }
    }
    if (
      code === null &&
      (rules.codes.issueTo === 'everyone' ||
        (e.ready && e.inPilot) ||
        e.lastAskedAt !== null ||
        x.rollup !== null ||
        p.isEmployee === true ||
        (p.companyId !== undefined && partners.has(p.companyId)))
    ) {
      code = issuer.issue(isTaken);
      takenCodes.add(code);
      counts.codesIssued++;
    }
    if (isAskCandidate(e, now)) {
      candidates.push({ person: p, code, x, c: askCandidate(e, p.ownerId) });
      continue;
    }
    planPerson(p, e, code, x, null);
  }

  phase('people');

  // ---- 6. Asks under the per-owner daily caps
  const budget = OwnerBudget.fromRules(rules, options.ownerBudgets);
  const byCandidate = new Map(candidates.map((x) => [x.c, x]));
  const schedule = scheduleAsks(
    candidates.map((x) => x.c),
    budget,
  );
  counts.asksScheduled = schedule.scheduled.length;
  counts.asksDeferred = schedule.deferred.length;
  for (const c of schedule.scheduled) {
    const x = byCandidate.get(c)!;
    ctx.tickets = x.x.tickets;
    const before = evaluatePerson(x.person, ctx);
    // The ask happens now: plan the state after it (cool-down started, next eligible date), so the
    // next run finds nothing to change instead of rewriting the flags one run later.
    const asked: Person = { ...x.person, asks: [...(x.person.asks ?? []), new Date(now)] };
    const after = evaluatePerson(asked, { now, rules, tickets: x.x.tickets, stats });
    planPerson(asked, after, x.code, x.x, now);
    tasks.push(
      buildTask(
        'ask',
        askTaskKey(x.person.id, before.lastAskedAt),
        rules.tasks.ask,
        {
          name: personName(x.person),
          score: before.score,
          reasons: reasonsText(before),
          code: x.code ?? '',
          link: x.code === null ? '' : referralLink(options.linkTemplate, x.code),
        },
        now,
        { personId: x.person.id, ownerId: x.person.ownerId, companyId: x.person.companyId },
      ),
    );
  }
  for (const c of schedule.deferred) {
    const x = byCandidate.get(c)!;
    ctx.tickets = x.x.tickets;
    planPerson(x.person, evaluatePerson(x.person, ctx), x.code, x.x, null);
  }
  for (const [id, r] of rollups) {
    if (!seenReferrers.has(id)) report.addReferrer(referrers.get(id)!, r.rollup, r.entries, null);
  }

  result.report = report.finish();
  phase('asks+report');
  result.nextEvaluationAt = nextAt === Infinity ? null : new Date(nextAt);
  return result;
}
