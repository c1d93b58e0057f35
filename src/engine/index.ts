/**
 * The referral engine's public API (pure, synchronous, no I/O, no CRM names).
 *
 * Three ways to use it:
 *  1. Whole account in memory: `runEngine(snapshot, { now, rules, linkTemplate, random?, ownerBudgets?, onPlan? })`
 *     → person/deal/company plans (id, desired, changes), tasks, attribution decisions, report,
 *     `nextEvaluationAt`. Used by tests and the benchmark.
 *  1b. The same run fed in chunks, phase by phase: `new EngineRun(options)` → addCompanies /
 *     addTickets / addClicks → indexPeople → indexReferrers (if `needsReferrerPass`) → attribute →
 *     planDeals → rollup → planCompanies → planPeople → finish. The pipeline streams its cache
 *     through it (src/sync/compute.ts); `runEngine` is it fed whole arrays.
 *  1c. Time alone: `reevaluatePeople(due, { histogram, partnerCompanyIds, ticketsOf, issuer, isTaken, … })`
 *     re-plans the readiness side of the people whose `nextChangeAt` came (src/sync/reevaluate.ts).
 *  2. Per record (the streaming pipeline, one page at a time, context from Redis):
 *     - rules:       `parseRules(json)` (throws ERR_ENGINE_RULES_INVALID), `DEFAULT_RULES`
 *     - stats:       `SpendHistogram` (add/remove/merge/toJSON/fromJSON) → `statsFromHistogram(h, rules)`
 *     - readiness:   `evaluatePerson(person, { now, rules, tickets, stats, previous? })` → PersonEvaluation
 *                    (score, ready, reasons, excludedBy, segments, tags, trigger, variant, inPilot,
 *                    eligibleToAskAt, lastAskedAt, nextChangeAt — instants as epoch ms)
 *     - asks:        `isAskCandidate(e, now)`, `askCandidate(e, ownerId)`, `OwnerBudget`, `scheduleAsks(cands, budget)`
 *     - codes:       `CodeIssuer(random?)`.issue(isTaken), `ensureCode(stored, isTaken, issuer)`,
 *                    `normalizeCode`, `isValidCode`, `codeProblem`, `typoCandidates`, `referralLink(template, code)`
 *     - attribution: `attributeReferral(person, { now, rules, directory, existing? })` → AttributionDecision;
 *                    `MapDirectory` (a ReferrerDirectory over Maps), `referrerRefOf(person, partnerIds)`;
 *                    free-text names: index referrers under `nameIndexKeys(name)`, look up `nameQueryKeys(nameTokens(text))`
 *     - credit:      `creditDeal(deal, capturedAt, rules)`, `rollupReferrer(entries, rules, paid?)`
 *     - plan:        `desiredPerson({...})`, `desiredDeal(deal, attribution|null)`, `desiredCompany(company, partner|null)`,
 *                    `diffOwned(desired, current, policies?)`, `applyChanges`, `sameValue`, task keys
 *                    (`askTaskKey`, `followUpTaskKey`, `thankTaskKey`, `reviewTaskKey`, `rewardTaskKey`), `buildTask`
 *     - report:      `ReportAccumulator` (addPerson/addDecision/addReferrer/addPartner, toJSON/fromJSON, finish)
 *     - data:        `generateAccount(options)` seeded realistic canonical data (tests, bench, demo)
 *
 * Instants in evaluations and decisions are epoch milliseconds (numbers); plans carry `Date`s
 * truncated to the second. No result depends on the clock: `now` is always an argument (the clock
 * is read only for `runEngine`'s phase timings).
 */
export * from './model.js';
export * from './rules.js';
export * from './stats.js';
export * from './readiness.js';
export * from './asks.js';
export * from './codes.js';
export * from './names.js';
export * from './attribution.js';
export * from './directory.js';
export * from './credit.js';
export * from './plan.js';
export * from './report.js';
export * from './run.js';
export * from './referrer-sieve.js';
export * from './reevaluate.js';
export * from './generate.js';
