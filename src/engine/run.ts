/**
 * The engine over a whole account: `EngineRun` (phase by phase, fed in chunks — the streaming
 * pipeline's form) and `runEngine` (the same run fed whole arrays: tests, benchmark, small tools).
 * The phases are listed on `EngineRun`.
 */
import { AppError } from '../errors.js';
import type { AskCandidate } from './asks.js';
import { OwnerBudget, UNASSIGNED_OWNER, askCandidate, compareAskCandidates, isAskCandidate } from './asks.js';
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
import { CodeIssuer, codeProblem, normalizeCode, referralLink, typoCandidates } from './codes.js';
import type { PartnerRollup, ReferralRecord, ReferrerRollup } from './credit.js';
import { creditDeal, emptyPartnerRollup, rollupReferrer } from './credit.js';
import { referrerRefOf } from './directory.js';
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
import { FilteredIdMap, FilteredIdSet } from './id-map.js';
import { ReferrerSieve } from './referrer-sieve.js';
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
  /** Receives every person's next change instant (epoch ms, null = none) as it is planned. */
  onEvaluated?: (personId: string, nextChangeAt: number | null) => void;
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
 * The referrer directory of one run. It holds `ReferrerRef`s (a few fields), never people, and
 * only for the people the run's captures can look up: after the first people pass the run knows
 * every code, click, email, referrer id and name key its captures will ask for (`prepare`), and
 * the second pass indexes just those. So an account streamed page by page never sits whole in
 * memory, and the in-memory run builds no ref it does not use (half a million eager refs cost
 * ~100 MB at 1M people).
 */
class PreparedDirectory implements ReferrerDirectory {
  readonly codes = new Map<string, ReferrerRef>();
  readonly emails = new Map<string, ReferrerRef>();
  /** Name key → code holders with their name tokens joined (scored without re-tokenising). */
  readonly names = new Map<string, { ref: ReferrerRef; target: string; count: number }[]>();
  readonly clicks = new Map<string, { code: string; at: number }>();
  /** Codes, emails and name keys the captures look up (filled by `EngineRun.prepare`). */
  readonly wantedCodes = new Set<string>();
  readonly wantedEmails = new Set<string>();
  readonly wantedNames = new Set<string>();

  constructor(private readonly minNameScore: number) {}

  addClick(clickId: string, code: string, at: number): void {
    if (!this.clicks.has(clickId)) this.clicks.set(clickId, { code, at });
  }
  addName(ref: ReferrerRef, tokens: readonly string[], keys: Iterable<string>): void {
    let entry: { ref: ReferrerRef; target: string; count: number } | undefined;
    for (const key of keys) {
      if (!this.wantedNames.has(key)) continue;
      entry ??= { ref, target: tokens.join(' '), count: tokens.length };
      const list = this.names.get(key);
      if (list === undefined) this.names.set(key, [entry]);
      else list.push(entry);
    }
  }

  private code(code: string): ReferrerRef | undefined {
    // A lookup `prepare` did not foresee would silently miss a referrer: fail loudly instead.
    if (!this.wantedCodes.has(code)) throw new Error(`engine: code ${code} was not prepared for lookup`);
    return this.codes.get(code);
  }
  byCode(code: string): ReferrerRef | undefined {
    return this.code(code);
  }
  byClickId(clickId: string): ClickRef | undefined {
    const c = this.clicks.get(clickId);
    const r = c === undefined ? undefined : this.code(c.code);
    if (r === undefined) return undefined;
    return Number.isNaN(c!.at) ? { referrer: r } : { referrer: r, at: c!.at };
  }
  byEmail(email: string): ReferrerRef | undefined {
    return this.emails.get(email);
  }
  byName(tokens: readonly string[]): readonly ReferrerRef[] {
    return this.byNameScored(tokens, this.minNameScore).map((c) => c.ref());
  }
  byNameScored(tokens: readonly string[], minScore: number): readonly ScoredName[] {
    const query = new NameQuery(tokens);
    const seen = new Set<string>();
    const out: ScoredName[] = [];
    for (const key of nameQueryKeys(tokens)) {
      const list = this.names.get(key);
      if (list === undefined) continue;
      for (const { ref, target, count } of list) {
        if (seen.has(ref.id)) continue;
        seen.add(ref.id);
        // The score `nameSimilarity(tokens, personName(p))` gives (NameQuery's contract).
        const score = query.similarity(target, count);
        if (score >= minScore) out.push({ id: ref.id, score, ref: () => ref });
      }
    }
    return out;
  }
}

export const ERR_ENGINE_PHASE_ORDER = 'ERR_ENGINE_PHASE_ORDER';

/** The phases of a run, in the order their methods must be called. */
type Stage =
  | 'inputs' // addCompanies, addTickets, addClicks
  | 'people-index' // indexPeople (every person once)
  | 'referrer-index' // indexReferrers (every person again, only when `needsReferrerPass`)
  | 'attributed' // attribute()
  | 'deals' // planDeals
  | 'rolled-up' // rollup(), then planCompanies
  | 'people' // planPeople (every person a third time)
  | 'finished'; // finish()

interface Extra {
  tickets: readonly Ticket[];
  attribution: AttributionDecision | null;
  rollup: { rollup: ReferrerRollup; entries: ReferralRecord[] } | null;
}
const NONE: Extra = { tickets: NO_TICKETS, attribution: null, rollup: null };

interface Candidate {
  person: Person;
  code: string | null;
  x: Extra;
  c: AskCandidate;
}

/** A binary heap of candidates with the WORST (by `compareAskCandidates`) on top. */
class CandidateHeap {
  private readonly a: Candidate[] = [];

  get size(): number {
    return this.a.length;
  }
  items(): readonly Candidate[] {
    return this.a;
  }
  /** `x` is worse than `y` (would be picked after it). */
  private worse(x: Candidate, y: Candidate): boolean {
    return compareAskCandidates(x.c, y.c) > 0;
  }
  push(c: Candidate): void {
    const a = this.a;
    a.push(c);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }
  /** If `c` beats the worst kept, it takes its place and the worst is returned; else `c` is. */
  replaceWorstIfBetter(c: Candidate): Candidate {
    const a = this.a;
    const top = a[0];
    if (top === undefined || !this.worse(top, c)) return c;
    a[0] = c;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < a.length && this.worse(a[l]!, a[w]!)) w = l;
      if (r < a.length && this.worse(a[r]!, a[w]!)) w = r;
      if (w === i) break;
      [a[i], a[w]] = [a[w]!, a[i]!];
      i = w;
    }
    return top;
  }
}

/**
 * One engine run, phase by phase, fed in chunks: the streaming pipeline calls it page by page
 * from its cache (several passes over the people, each a scan), and `runEngine` calls it with
 * whole arrays — one code path, so both give the same plans for the same records in the same
 * order. What it keeps between chunks is bounded by the referral activity, not the account:
 * the code index (code → person id), the captured people, the refs their captures name, the
 * ledger and roll-ups, tickets by person, and the ask candidates of this run.
 *
 *   1. `addCompanies`, `addTickets`, `addClicks` (partner ids, tickets by person, link clicks)
 *   2. `indexPeople` — every person: spend histogram, stored codes, captured people
 *   3. `indexReferrers` — every person again, if `needsReferrerPass`: the refs the captures name
 *   4. `attribute()` — attribution of every captured referral (first valid wins; an earlier
 *      credited referral is read back from `referred_by_contact_id`: CRM values act as the ledger)
 *   5. `planDeals` — attribution fields, credit of won deals inside the window, thank-you tasks
 *   6. `rollup()` then `planCompanies` — roll-ups per referrer (tiers, rewards), partner companies
 *   7. `planPeople` — evaluation, code issuance, plan; ask candidates are held back
 *   8. `finish()` — asks scheduled under the per-owner daily caps (score desc, id), their plans
 *      and tasks, the report
 *
 * Plans go to `onPlan` when given (nothing retained), else they are returned by `finish`.
 * Deterministic for the same records in the same order, `now`, rules and random source.
 */
export class EngineRun {
  private stage: Stage = 'inputs';
  private readonly now: number;
  private readonly rules: Rules;
  private readonly issuer: CodeIssuer;
  private readonly keepUnchanged: boolean;
  private readonly report = new ReportAccumulator();
  private readonly result: EngineResult;
  private phaseStart = performance.now();

  // ---- indexes
  private readonly partners = new Set<string>();
  private readonly histogram = new SpendHistogram();
  private readonly refCache = new Map<string, ReferrerRef>();
  private readonly directory: PreparedDirectory;
  private readonly takenCodes = new Set<string>();
  /** Code → the person keeping it (a duplicate stored code goes to the first person only). */
  private readonly codeOwner = new Map<string, string>();
  /** People carrying a referral capture or an earlier attribution (attributed in phase 4). */
  private readonly captured: Person[] = [];
  private readonly wantedReferrers = new Set<string>();
  /** Refs of the people earlier attributions name (`referred_by_contact_id`). */
  private readonly byId = new Map<string, ReferrerRef>();
  private readonly ticketsByPerson = new Map<string, Ticket[]>();

  // ---- attribution, deals, roll-ups
  private readonly ledger = new Map<string, Map<string, LedgerEntry>>();
  private readonly referrers = new Map<string, ReferrerRef>();
  private readonly credited = new Map<string, AttributionDecision>();
  /** `credited` behind a membership pre-filter, for the deals pass (complete once attributed). */
  private creditedById: FilteredIdMap<AttributionDecision> | null = null;
  private wantedReferrersById: FilteredIdSet | null = null;
  /** `prepare` ran (the wanted codes, emails and names are complete). */
  private prepared = false;
  private sieve: ReferrerSieve | null = null;
  private readonly partnerRollups = new Map<string, PartnerRollup>();
  private readonly rollups = new Map<string, { rollup: ReferrerRollup; entries: ReferralRecord[] }>();

  // ---- people
  private readonly extras = new Map<string, Extra>();
  /** `extras` behind a membership pre-filter, for the people pass (built when it starts). */
  private extrasById: FilteredIdMap<Extra> | null = null;
  private ctx: {
    now: number;
    rules: Rules;
    tickets: readonly Ticket[];
    stats: ReturnType<typeof statsFromHistogram>;
  } | null = null;
  /** Codes issued earlier but no longer in the CRM stay reserved to their person. */
  private readonly reserved = new Map<string, string>();
  private readonly seenReferrers = new Set<string>();
  private nextAt = Infinity;
  /**
   * The ask candidates still in the running, per owner: at most the owner's remaining budget,
   * the best by (score desc, id) — exactly who `scheduleAsks` would pick over everyone, since each
   * owner's budget is independent. A candidate pushed out is deferred (planned not asked) at once,
   * so a first backfill with 100k ready people holds a few thousand, not 100k. Candidates keep no
   * evaluation (deterministic: evaluated again when planned).
   */
  private readonly held = new Map<string, CandidateHeap>();
  private budget: OwnerBudget | null = null;

  constructor(private readonly options: EngineOptions) {
    this.now = typeof options.now === 'number' ? options.now : options.now.getTime();
    this.rules = options.rules ?? DEFAULT_RULES;
    this.issuer = options.codeIssuer ?? new CodeIssuer(options.random);
    this.keepUnchanged = options.keepUnchanged ?? true;
    this.directory = new PreparedDirectory(this.rules.attribution.fuzzyMinScore);
    this.result = {
      personPlans: [],
      dealPlans: [],
      companyPlans: [],
      tasks: [],
      decisions: [],
      report: undefined as unknown as Report,
      nextEvaluationAt: null,
      timingsMs: {},
      counts: {
        people: 0,
        deals: 0,
        companies: 0,
        changed: { person: 0, deal: 0, company: 0 },
        fieldChanges: { person: {}, deal: {}, company: {} },
        codesIssued: 0,
        asksScheduled: 0,
        asksDeferred: 0,
        dealsCredited: 0,
      },
    };
  }

  /** Moves to `to`, allowed only from the stages listed (and staying in `to` itself). */
  private enter(to: Stage, from: readonly Stage[]): void {
    if (this.stage === to) return;
    if (!from.includes(this.stage)) {
      throw new AppError(ERR_ENGINE_PHASE_ORDER, `engine run: cannot go from "${this.stage}" to "${to}"`, {
        retryable: false,
      });
    }
    this.stage = to;
  }

  private phase(name: string): void {
    const t = performance.now();
    this.result.timingsMs[name] = Math.round(t - this.phaseStart);
    this.phaseStart = t;
  }

  private refOf(p: Person): ReferrerRef {
    let r = this.refCache.get(p.id);
    if (r === undefined) this.refCache.set(p.id, (r = referrerRefOf(p, this.partners)));
    return r;
  }

  private emit(kind: PlanKind, id: string, desired: RecordPlan['desired'], current: Person['current']): void {
    const counts = this.result.counts;
    const changes = diffOwned(desired, current);
    let changed = false;
    const perField = counts.fieldChanges[kind];
    for (const k in changes) {
      changed = true;
      perField[k] = (perField[k] ?? 0) + 1;
    }
    if (changed) counts.changed[kind]++;
    const plan = { id, desired, changes };
    if (this.options.onPlan !== undefined) this.options.onPlan(kind, plan);
    else if (changed || this.keepUnchanged) {
      (kind === 'person'
        ? this.result.personPlans
        : kind === 'deal'
          ? this.result.dealPlans
          : this.result.companyPlans
      ).push(plan);
    }
  }

  // ---- 1. Inputs other than people

  /** Companies, first pass: which are partners (their people refer as partners). */
  addCompanies(companies: Iterable<Company>): void {
    this.enter('inputs', []);
    for (const c of companies) if (c.isPartner === true) this.partners.add(c.id);
  }

  addTickets(tickets: Iterable<Ticket>): void {
    this.enter('inputs', []);
    for (const t of tickets) {
      for (const pid of t.personIds) {
        const list = this.ticketsByPerson.get(pid);
        if (list === undefined) this.ticketsByPerson.set(pid, [t]);
        else list.push(t);
      }
    }
  }

  addClicks(clicks: Iterable<LinkClick>): void {
    this.enter('inputs', []);
    for (const c of clicks) this.directory.addClick(c.clickId, normalizeCode(c.code), ms(c.at));
  }

  // ---- 2. People, first pass

  /** Every person once: stats, stored codes (the whole code space, for uniqueness), captures. */
  indexPeople(people: Iterable<Person>): void {
    this.enter('people-index', ['inputs']);
    for (const p of people) {
      this.histogram.addPerson(p);
      const cur = p.current ?? NO_VALUES;
      const stored = cur.referral_code;
      if (typeof stored === 'string') {
        const code = normalizeCode(stored);
        if (codeProblem(code) === null && !this.codeOwner.has(code)) {
          this.codeOwner.set(code, p.id);
          this.takenCodes.add(code);
        }
      }
      const by = cur.referred_by_contact_id;
      const hasPrior = typeof by === 'string' && by !== '';
      if (hasPrior) this.wantedReferrers.add(by);
      if (hasPrior || hasCapture(p)) {
        this.captured.push(p);
        const email = lowerTrim(p.capture?.referrerEmail);
        if (email !== undefined) this.directory.wantedEmails.add(email);
      }
    }
  }

  /** The account's spend distribution (complete after `indexPeople`): kept for `reevaluatePeople`. */
  get spendHistogram(): SpendHistogram {
    return this.histogram;
  }

  /** Whether `indexReferrers` must see every person again (some capture names a referrer). */
  get needsReferrerPass(): boolean {
    return this.captured.length > 0;
  }

  /**
   * What the captures will look up: codes (with their typo fixes), clicks' codes, name keys. Once,
   * after the first people pass (the sieve, the referrer pass or attribution runs it).
   */
  private prepare(): void {
    if (this.prepared) return;
    this.prepared = true;
    const d = this.directory;
    for (const p of this.captured) {
      const raw = p.capture?.codeUsed?.trim();
      if (raw !== undefined && raw !== '') {
        const code = normalizeCode(raw);
        const problem = codeProblem(code);
        if (problem === null) d.wantedCodes.add(code);
        else if (problem === 'check') for (const c of typoCandidates(code)) d.wantedCodes.add(c);
      }
      const clickId = p.capture?.clickId?.trim();
      const click = clickId === undefined ? undefined : d.clicks.get(clickId);
      if (click !== undefined) d.wantedCodes.add(click.code);
      const text = p.capture?.howHeard;
      if (text !== undefined) for (const key of nameQueryKeys(nameTokens(text))) d.wantedNames.add(key);
    }
  }

  // ---- 3. People, second pass

  /** `wantedReferrers` behind its pre-filter (complete after the first pass; most people are not in it). */
  private wantedReferrersFilter(): FilteredIdSet {
    return (this.wantedReferrersById ??= new FilteredIdSet(this.wantedReferrers));
  }

  /**
   * Which people `indexReferrers` can act on, by id and email (after `indexPeople`, before
   * `attribute`): a streaming caller decodes and feeds only those, in scan order, and gets the same
   * directory as from everyone. A person is acted on only when its id is a wanted referrer, when it
   * holds its stored code and that code is wanted (or any name key is: holders are indexed by
   * name), or when its email is wanted.
   */
  referrerSieve(): ReferrerSieve {
    if (this.stage !== 'people-index' && this.stage !== 'referrer-index') {
      throw new AppError(ERR_ENGINE_PHASE_ORDER, `engine run: no referrer sieve in "${this.stage}"`, {
        retryable: false,
      });
    }
    if (this.sieve !== null) return this.sieve;
    this.prepare();
    const d = this.directory;
    const holders = new Set<string>();
    if (d.wantedNames.size > 0) for (const id of this.codeOwner.values()) holders.add(id);
    else {
      for (const code of d.wantedCodes) {
        const id = this.codeOwner.get(code);
        if (id !== undefined) holders.add(id);
      }
    }
    return (this.sieve = new ReferrerSieve(
      this.wantedReferrersFilter(),
      new FilteredIdSet(holders),
      d.wantedEmails,
    ));
  }

  /** Every person again (same order): refs of the referrers the captures name, nobody else. */
  indexReferrers(people: Iterable<Person>): void {
    if (this.stage === 'people-index') this.prepare();
    this.enter('referrer-index', ['people-index']);
    const d = this.directory;
    const wantNames = d.wantedNames.size > 0;
    const wantedReferrers = this.wantedReferrersFilter();
    for (const p of people) {
      if (wantedReferrers.has(p.id)) this.byId.set(p.id, this.refOf(p));
      const stored = (p.current ?? NO_VALUES).referral_code;
      const code = typeof stored === 'string' ? normalizeCode(stored) : undefined;
      const holds = code !== undefined && this.codeOwner.get(code) === p.id;
      if (holds && d.wantedCodes.has(code)) d.codes.set(code, this.refOf(p));
      // Free-text names: code holders, under the keys the captured texts look up only.
      if (holds && wantNames) {
        const tokens = nameTokens(personName(p));
        const keys = nameKeysOfTokens(tokens);
        let wanted = false;
        for (const k of keys) if (d.wantedNames.has(k)) wanted = true;
        if (wanted) d.addName(this.refOf(p), tokens, keys);
      }
      if (p.email === undefined || d.wantedEmails.size === 0) continue;
      const email = lowerTrim(p.email);
      if (email === undefined || !d.wantedEmails.has(email) || d.emails.has(email)) continue;
      // Possible referrers by email: customers, employees, code holders, partners' people.
      if (
        holds ||
        p.isCustomer === true ||
        p.isEmployee === true ||
        (p.companyId !== undefined && this.partners.has(p.companyId))
      ) {
        d.emails.set(email, this.refOf(p));
      }
    }
  }

  // ---- 4. Attribution

  private partnerOf(id: string): PartnerRollup {
    let r = this.partnerRollups.get(id);
    if (r === undefined) this.partnerRollups.set(id, (r = emptyPartnerRollup()));
    return r;
  }

  private addLedger(
    referrer: ReferrerRef,
    referredId: string,
    referred: Person | null,
    capturedAt: number,
  ): void {
    this.referrers.set(referrer.id, referrer);
    let entries = this.ledger.get(referrer.id);
    if (entries === undefined) this.ledger.set(referrer.id, (entries = new Map()));
    if (!entries.has(referredId)) {
      entries.set(referredId, { referredId, referred, capturedAt, convertedAt: null, revenue: 0 });
      if (referrer.type === 'partner' && referrer.companyId !== undefined)
        this.partnerOf(referrer.companyId).sent++;
      const rc = referred?.companyId;
      if (rc !== undefined && this.partners.has(rc)) this.partnerOf(rc).received++;
    }
  }

  /** Attributes every captured referral (after the people passes). */
  attribute(): void {
    if (this.stage === 'people-index') this.prepare();
    this.enter('attributed', ['inputs', 'people-index', 'referrer-index']);
    // The sieve's holder set can be every code holder (name keys wanted): not kept past its pass.
    this.sieve = null;
    this.phase('indexes');
    const { now, rules, directory } = this;
    const tasks = this.result.tasks;
    for (const p of this.captured) {
      const cur = p.current ?? NO_VALUES;
      const priorId = cur.referred_by_contact_id;
      const hasPrior = typeof priorId === 'string' && priorId !== '';
      let existing: PriorAttribution | undefined;
      if (hasPrior) {
        const known = this.byId.get(priorId);
        const referrer: ReferrerRef = known ?? { id: priorId, type: 'customer' };
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
      this.result.decisions.push(d);
      this.report.addDecision(d);
      if (d.status === 'credited' && d.referrer !== undefined) {
        this.credited.set(p.id, d);
        this.addLedger(d.referrer, p.id, p, d.capturedAt);
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
    this.phase('attribution');
  }

  // ---- 5. Deals

  planDeals(deals: Iterable<Deal>): void {
    this.enter('deals', ['attributed']);
    const { now, rules } = this;
    const counts = this.result.counts;
    const credited = (this.creditedById ??= new FilteredIdMap(this.credited));
    for (const deal of deals) {
      counts.deals++;
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
          const entry = this.ledger.get(referrer.id)?.get(referredId);
          if (entry !== undefined) {
            entry.revenue += credit.amount;
            const wonAt = credit.wonAt ?? now;
            if (entry.convertedAt === null || wonAt < entry.convertedAt) entry.convertedAt = wonAt;
          }
          if (referrer.type === 'partner' && referrer.companyId !== undefined) {
            this.partnerOf(referrer.companyId).revenue += credit.amount;
          }
          if (recentOccasion(credit.wonAt ?? now, now, rules)) {
            this.result.tasks.push(
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
      this.emit('deal', deal.id, desiredDeal(deal, attribution), deal.current);
    }
  }

  // ---- 6. Roll-ups per referrer, reward tasks; partner companies

  rollup(): void {
    this.enter('rolled-up', ['attributed', 'deals']);
    this.phase('deals');
    const { now, rules } = this;
    for (const [referrerId, entries] of this.ledger) {
      const list = [...entries.values()];
      const rollup = rollupReferrer(list, rules);
      this.rollups.set(referrerId, { rollup, entries: list });
      const referrer = this.referrers.get(referrerId)!;
      for (const reward of rollup.rewards) {
        if (!recentOccasion(reward.at, now, rules)) continue;
        this.result.tasks.push(
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
  }

  /** Companies, second pass (after `rollup`): partner roll-ups and company plans. */
  planCompanies(companies: Iterable<Company>): void {
    this.enter('rolled-up', []);
    for (const company of companies) {
      this.result.counts.companies++;
      const p =
        company.isPartner === true ? (this.partnerRollups.get(company.id) ?? emptyPartnerRollup()) : null;
      if (p !== null) this.report.addPartner(company, p);
      this.emit('company', company.id, desiredCompany(company, p), company.current);
    }
  }

  // ---- 7. People, third pass

  /**
   * Everything known about a person from other records, behind ONE lookup per person: three Map
   * probes per person (tickets, attribution, roll-up) were a fifth of this phase at 1M.
   */
  private startPeople(): void {
    this.phase('rollups');
    const extraOf = (id: string): Extra => {
      let x = this.extras.get(id);
      if (x === undefined)
        this.extras.set(id, (x = { tickets: NO_TICKETS, attribution: null, rollup: null }));
      return x;
    };
    for (const [id, list] of this.ticketsByPerson) extraOf(id).tickets = list;
    for (const [id, d] of this.credited) extraOf(id).attribution = d;
    for (const [id, r] of this.rollups) extraOf(id).rollup = r;
    this.ticketsByPerson.clear();
    this.extrasById = new FilteredIdMap(this.extras);
    for (const [pid, c] of this.options.previousCodes ?? []) {
      const n = normalizeCode(c);
      if (!this.codeOwner.has(n) && !this.reserved.has(n)) this.reserved.set(n, pid);
    }
    this.ctx = {
      now: this.now,
      rules: this.rules,
      tickets: NO_TICKETS,
      stats: statsFromHistogram(this.histogram, this.rules),
    };
  }

  private planPerson(
    p: Person,
    e: PersonEvaluation,
    code: string | null,
    x: Extra,
    askedAt: number | null,
    deferred = false,
  ): void {
    const r = x.rollup;
    if (r !== null) {
      this.seenReferrers.add(p.id);
      this.report.addReferrer(this.referrers.get(p.id) ?? this.refOf(p), r.rollup, r.entries, e);
    }
    this.report.addPerson(p, e, askedAt !== null);
    let next = e.nextChangeAt;
    if (deferred) {
      // Over the owner's cap today: tomorrow's budget may ask them (a change with time alone).
      const reset = nextBudgetReset(this.now);
      if (next === null || reset < next) next = reset;
      if (reset < this.nextAt) this.nextAt = reset;
    }
    this.options.onEvaluated?.(p.id, next);
    const desired = desiredPerson({
      person: p,
      evaluation: e,
      code,
      link: code === null ? null : referralLink(this.options.linkTemplate, code),
      askedAt,
      attribution: x.attribution,
      rollup: r?.rollup ?? null,
      rules: this.rules,
    });
    this.emit('person', p.id, desired, p.current);
  }

  /**
   * Every person a third time (same order): evaluation, code, plan. Ask candidates are held back
   * for `finish` (their plans depend on the per-owner caps over everyone).
   * `options.previousCodes` is read when this phase starts.
   */
  planPeople(people: Iterable<Person>): void {
    if (this.stage !== 'people') {
      this.enter('people', ['rolled-up']);
      this.startPeople();
    }
    const { now, rules } = this;
    const ctx = this.ctx!;
    const counts = this.result.counts;
    const extras = this.extrasById!;
    const isTaken = (code: string): boolean => this.takenCodes.has(code) || this.reserved.has(code);
    for (const p of people) {
      counts.people++;
      const x = extras.get(p.id) ?? NONE;
      ctx.tickets = x.tickets;
      const e = evaluatePerson(p, ctx);
      if (e.nextChangeAt !== null && e.nextChangeAt < this.nextAt) this.nextAt = e.nextChangeAt;
      // Code: keep a valid stored one (stable); issue to advocates (or everyone) otherwise.
      let code: string | null = null;
      const stored = (p.current ?? NO_VALUES).referral_code;
      if (typeof stored === 'string') {
        const n = normalizeCode(stored);
        if (this.codeOwner.get(n) === p.id) code = n;
      }
      if (code === null) {
        // The CRM lost our code (a user cleared or garbled it): give the same code back, not a new one.
        const prev = this.options.previousCodes?.get(p.id);
        const n = prev === undefined ? '' : normalizeCode(prev);
        if (
          prev !== undefined &&
          codeProblem(n) === null &&
          this.reserved.get(n) === p.id &&
          !this.codeOwner.has(n)
        ) {
          code = n;
          this.codeOwner.set(n, p.id);
        }
      }
      if (
        code === null &&
        (rules.codes.issueTo === 'everyone' ||
          (e.ready && e.inPilot) ||
          e.lastAskedAt !== null ||
          x.rollup !== null ||
          p.isEmployee === true ||
          (p.companyId !== undefined && this.partners.has(p.companyId)))
      ) {
        code = this.issuer.issue(isTaken);
        this.takenCodes.add(code);
        counts.codesIssued++;
      }
      if (isAskCandidate(e, now)) {
        const out = this.hold({ person: p, code, x, c: askCandidate(e, p.ownerId) });
        if (out === null) continue;
        if (out.person === p) {
          this.planPerson(p, e, code, x, null, true);
        } else {
          ctx.tickets = out.x.tickets;
          this.planPerson(out.person, evaluatePerson(out.person, ctx), out.code, out.x, null, true);
        }
        counts.asksDeferred++;
        continue;
      }
      this.planPerson(p, e, code, x, null);
    }
  }

  /** Keeps a candidate among its owner's best; returns the one deferred by it, if any. */
  private hold(c: Candidate): Candidate | null {
    this.budget ??= OwnerBudget.fromRules(this.rules, this.options.ownerBudgets);
    const cap = this.budget.remaining(c.c.ownerId);
    if (cap <= 0) return c;
    const key = c.c.ownerId ?? UNASSIGNED_OWNER;
    let heap = this.held.get(key);
    if (heap === undefined) this.held.set(key, (heap = new CandidateHeap()));
    if (heap.size < cap) {
      heap.push(c);
      return null;
    }
    return heap.replaceWorstIfBetter(c);
  }

  // ---- 8. Asks under the per-owner daily caps, report

  finish(): EngineResult {
    if (this.stage === 'rolled-up') this.planPeople([]);
    this.enter('finished', ['people']);
    this.phase('people');
    const { now, rules } = this;
    const ctx = this.ctx!;
    const counts = this.result.counts;
    const scheduled = [...this.held.values()]
      .flatMap((h) => h.items())
      .sort((a, b) => compareAskCandidates(a.c, b.c));
    this.held.clear();
    counts.asksScheduled = scheduled.length;
    for (const x of scheduled) {
      ctx.tickets = x.x.tickets;
      const before = evaluatePerson(x.person, ctx);
      // The ask happens now: plan the state after it (cool-down started, next eligible date), so the
      // next run finds nothing to change instead of rewriting the flags one run later.
      const asked: Person = { ...x.person, asks: [...(x.person.asks ?? []), new Date(now)] };
      const after = evaluatePerson(asked, { now, rules, tickets: x.x.tickets, stats: ctx.stats });
      this.planPerson(asked, after, x.code, x.x, now);
      this.result.tasks.push(askTask(x.person, before, x.code, rules, this.options.linkTemplate, now));
    }
    for (const [id, r] of this.rollups) {
      if (!this.seenReferrers.has(id))
        this.report.addReferrer(this.referrers.get(id)!, r.rollup, r.entries, null);
    }
    this.result.report = this.report.finish();
    this.phase('asks+report');
    this.result.nextEvaluationAt = this.nextAt === Infinity ? null : new Date(this.nextAt);
    return this.result;
  }
}

/**
 * When the per-owner daily ask budgets start over: the next UTC midnight (the pipeline keeps the
 * day's ask counts per UTC date).
 */
export function nextBudgetReset(now: number): number {
  return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
}

/** The "ask for a referral" task for a person asked now (`before`: its evaluation before the ask). */
export function askTask(
  person: Person,
  before: PersonEvaluation,
  code: string | null,
  rules: Rules,
  linkTemplate: string,
  now: number,
): EngineTask {
  return buildTask(
    'ask',
    askTaskKey(person.id, before.lastAskedAt),
    rules.tasks.ask,
    {
      name: personName(person),
      score: before.score,
      reasons: reasonsText(before),
      code: code ?? '',
      link: code === null ? '' : referralLink(linkTemplate, code),
    },
    now,
    { personId: person.id, ownerId: person.ownerId, companyId: person.companyId },
  );
}

/** The whole engine over an in-memory account: `EngineRun` fed whole arrays. */
export function runEngine(snapshot: EngineSnapshot, options: EngineOptions): EngineResult {
  const run = new EngineRun(options);
  run.addCompanies(snapshot.companies);
  run.addTickets(snapshot.tickets);
  run.addClicks(snapshot.clicks ?? []);
  run.indexPeople(snapshot.people);
  if (run.needsReferrerPass) run.indexReferrers(snapshot.people);
  run.attribute();
  run.planDeals(snapshot.deals);
  run.rollup();
  run.planCompanies(snapshot.companies);
  run.planPeople(snapshot.people);
  return run.finish();
}
