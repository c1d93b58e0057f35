/**
 * The rule set (PRODUCT.md F-READY, F-ATTR): validated configuration with the product defaults.
 * An admin's rules arrive as JSON (tenant config); `parseRules` fills every missing member with
 * its default and rejects anything invalid with a message naming each path and problem.
 *
 * Durations are in days, shares in 0..1, money in `rewards.currency`. All time arithmetic in the
 * engine is on epoch milliseconds; `DAY_MS` converts.
 */
import { z } from 'zod';
import { parseOrThrow } from '../validation.js';

export const ERR_ENGINE_RULES_INVALID = 'ERR_ENGINE_RULES_INVALID';
export const DAY_MS = 86_400_000;

const Weight = z.number().positive().max(100);
const Days = z.number().int().positive().max(3650);
const Share = z.number().min(0).max(1);

/** The criterion kinds the engine knows. Each adds its weight when met. */
export const CRITERION_KINDS = [
  'nps',
  'recentPurchase',
  'activeUse',
  'advocacy',
  'tenure',
  'repeatPurchases',
  'highSpend',
  'engagement',
] as const;
export type CriterionKind = (typeof CRITERION_KINDS)[number];

export const CriterionSchema = z.discriminatedUnion('kind', [
  /** NPS ≥ minNps, or (no NPS) CSAT ≥ minCsat. */
  z.strictObject({
    kind: z.literal('nps'),
    weight: Weight,
    minNps: z.number().min(0).max(10).default(9),
    minCsat: z.number().min(1).max(5).default(4.5),
  }),
  /** A purchase, renewal or upgrade in the last `withinDays` days. */
  z.strictObject({ kind: z.literal('recentPurchase'), weight: Weight, withinDays: Days.default(30) }),
  /** Active use of the core features: enough active days in the last 30 and enough features used. */
  z.strictObject({
    kind: z.literal('activeUse'),
    weight: Weight,
    minActiveDays: z.number().min(0).max(31).default(10),
    minFeatures: z.number().int().min(0).default(3),
  }),
  /** Earlier advocacy: left a review, shared content, gave a testimonial, referred before. */
  z.strictObject({ kind: z.literal('advocacy'), weight: Weight }),
  /** Customer for at least `minDays` (default 183 ≈ 6 months). */
  z.strictObject({ kind: z.literal('tenure'), weight: Weight, minDays: Days.default(183) }),
  /** More than `moreThan` purchases (default: > 3). */
  z.strictObject({
    kind: z.literal('repeatPurchases'),
    weight: Weight,
    moreThan: z.number().int().min(0).default(3),
  }),
  /** Lifetime spend in the account's top quantile (default: top 20 %, i.e. ≥ the 0.8 quantile). */
  z.strictObject({
    kind: z.literal('highSpend'),
    weight: Weight,
    quantile: z.number().gt(0).lt(1).default(0.8),
  }),
  /** Email engagement: at least `minClicks` clicks or `minOpens` opens. */
  z.strictObject({
    kind: z.literal('engagement'),
    weight: Weight,
    minOpens: z.number().int().min(0).default(10),
    minClicks: z.number().int().min(0).default(3),
  }),
]);
export type Criterion = z.infer<typeof CriterionSchema>;

/** Person inputs a custom segment condition may test. */
export const SEGMENT_FIELDS = {
  nps: 'number',
  csat: 'number',
  purchaseCount: 'number',
  totalSpend: 'number',
  activeDaysLast30: 'number',
  activeDaysPrev30: 'number',
  featuresUsed: 'number',
  emailOpens: 'number',
  emailClicks: 'number',
  lastPurchaseAt: 'date',
  lastRenewalAt: 'date',
  lastUpgradeAt: 'date',
  onboardingCompletedAt: 'date',
  lastSupportWinAt: 'date',
  lastActiveAt: 'date',
  customerSince: 'date',
  createdAt: 'date',
  leftReview: 'boolean',
  sharedContent: 'boolean',
  gaveTestimonial: 'boolean',
  referredBefore: 'boolean',
  isCustomer: 'boolean',
  isEmployee: 'boolean',
  lifecycleStage: 'string',
  kind: 'string',
} as const;
export type SegmentField = keyof typeof SEGMENT_FIELDS;

const SegmentFieldSchema = z.enum(Object.keys(SEGMENT_FIELDS) as [SegmentField, ...SegmentField[]]);

/**
 * One condition of an admin segment. Numbers: gte/lte/eq. Dates: withinDays (the instant is at
 * most N days ago) / olderThanDays (more than N days ago). Booleans: is. Strings: in. Any: exists.
 */
export const SegmentConditionSchema = z.discriminatedUnion('op', [
  z.strictObject({ field: SegmentFieldSchema, op: z.literal('gte'), value: z.number() }),
  z.strictObject({ field: SegmentFieldSchema, op: z.literal('lte'), value: z.number() }),
  z.strictObject({ field: SegmentFieldSchema, op: z.literal('eq'), value: z.number() }),
  z.strictObject({ field: SegmentFieldSchema, op: z.literal('withinDays'), value: Days }),
  z.strictObject({ field: SegmentFieldSchema, op: z.literal('olderThanDays'), value: Days }),
  z.strictObject({ field: SegmentFieldSchema, op: z.literal('is'), value: z.boolean() }),
  z.strictObject({ field: SegmentFieldSchema, op: z.literal('in'), value: z.array(z.string()).min(1) }),
  z.strictObject({ field: SegmentFieldSchema, op: z.literal('exists'), value: z.boolean().default(true) }),
]);
export type SegmentCondition = z.infer<typeof SegmentConditionSchema>;

const TagSchema = z
  .string()
  .min(1)
  .max(60)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lower-case letters, digits, "-" or "_"');

export const CustomSegmentSchema = z.strictObject({
  /** Display name, written to `referral_segment` when it is the person's primary segment. */
  name: z.string().min(1).max(60),
  /** Tag written to `referral_tags`. */
  tag: TagSchema,
  /** All conditions must hold. */
  all: z.array(SegmentConditionSchema).min(1).max(20),
});
export type CustomSegment = z.infer<typeof CustomSegmentSchema>;

const TaskTemplateSchema = z.strictObject({
  /** `{name}`, `{referrer}`, `{referred}`, `{score}`, `{reasons}`, `{code}`, `{link}`, `{amount}`, `{deal}`, `{method}`. */
  subject: z.string().min(1).max(255),
  body: z.string().max(4000),
  dueDays: z.number().int().min(0).max(365),
  priority: z.enum(['low', 'normal', 'high']),
});
export type TaskTemplate = z.infer<typeof TaskTemplateSchema>;

const DEFAULT_CRITERIA: z.input<typeof CriterionSchema>[] = [
  { kind: 'nps', weight: 30 },
  { kind: 'recentPurchase', weight: 25 },
  { kind: 'activeUse', weight: 15 },
  { kind: 'advocacy', weight: 10 },
  { kind: 'tenure', weight: 10 },
  { kind: 'repeatPurchases', weight: 5 },
  { kind: 'highSpend', weight: 5 },
];

const DEFAULT_PUBLIC_DOMAINS = [
  'gmail.com',
  'googlemail.com',
  'yahoo.com',
  'outlook.com',
  'hotmail.com',
  'live.com',
  'msn.com',
  'icloud.com',
  'me.com',
  'aol.com',
  'proton.me',
  'protonmail.com',
  'gmx.com',
  'gmx.de',
  'web.de',
  'yandex.ru',
  'mail.ru',
  'qq.com',
  '163.com',
];

export const PilotSchema = z
  .strictObject({
    /** `off`: everyone; `segment`: only people in `segment` (a segment tag); `share`: a stable share. */
    mode: z.enum(['off', 'segment', 'share']).default('off'),
    segment: TagSchema.optional(),
    share: Share.default(0.1),
    /** Changing the salt reshuffles who is in a share pilot. */
    salt: z.string().default('pilot'),
  })
  .refine((p) => p.mode !== 'segment' || p.segment !== undefined, {
    message: 'mode "segment" needs a segment tag',
    path: ['segment'],
  });

export const RulesSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    criteria: z
      .array(CriterionSchema)
      .min(3)
      .max(10)
      .default(() => DEFAULT_CRITERIA.map((c) => CriterionSchema.parse(c))),
    /** Ready when score ≥ threshold (0–100). */
    threshold: z.number().min(0).max(100).default(50),
    /** Once ready, stay ready until the score falls below threshold − hysteresis (no flapping). */
    hysteresis: z.number().min(0).max(50).default(5),
    exclusions: z
      .strictObject({
        openTicket: z.boolean().default(true),
        /** A complaint closed less than N days ago still excludes (0 = only open complaints). */
        complaintDays: z.number().int().min(0).max(3650).default(30),
        /** NPS at or below this is a detractor (veto). */
        detractorMaxNps: z.number().min(0).max(10).default(6),
        /** No activity for more than N days = churn signal (needs `lastActiveAt`). 0 = off. */
        inactiveDays: z.number().int().min(0).max(3650).default(60),
        /** Active days this 30 < ratio × previous 30 = falling usage. 0 = off. */
        usageDropRatio: Share.default(0.5),
        optOut: z.boolean().default(true),
        /** Leads and people explicitly not customers are never asked. */
        nonCustomers: z.boolean().default(true),
      })
      .prefault({}),
    segments: z
      .strictObject({
        /** Segment A: NPS ≥ minNps and a purchase within `purchaseDays`. */
        a: z
          .strictObject({
            enabled: z.boolean().default(true),
            minNps: z.number().min(0).max(10).default(9),
            purchaseDays: Days.default(30),
          })
          .prefault({}),
        /** Segment B: high usage and more than `moreThanPurchases` purchases. */
        b: z
          .strictObject({
            enabled: z.boolean().default(true),
            minActiveDays: z.number().min(0).max(31).default(15),
            moreThanPurchases: z.number().int().min(0).default(3),
          })
          .prefault({}),
        /** VIP: long tenure, high spend (the highSpend quantile), consistently positive feedback. */
        vip: z
          .strictObject({
            enabled: z.boolean().default(true),
            minTenureDays: Days.default(730),
            minNps: z.number().min(0).max(10).default(9),
          })
          .prefault({}),
        custom: z.array(CustomSegmentSchema).max(20).default([]),
      })
      .prefault({}),
    /** A positive event at most this many days ago is the trigger ("the best moment to ask"). */
    triggerDays: Days.default(30),
    asks: z
      .strictObject({
        coolDownDays: Days.default(90),
        /**
         * Hours after an ask during which the person stays ready: the ask's own occasion. The
         * readiness flag that automations fire on ("ready became true → send the invitation") is
         * written with the ask, and the cool-down veto takes over when this window ends.
         */
        askWindowHours: z
          .number()
          .int()
          .min(0)
          .max(24 * 14)
          .default(24),
        maxPerYear: z.number().int().min(1).max(52).default(2),
        perOwnerDailyCap: z.number().int().min(0).max(10_000).default(20),
      })
      .prefault({}),
    pilot: PilotSchema.prefault({}),
    ab: z
      .strictObject({
        /** Share of people in variant B. */
        shareB: Share.default(0.5),
        salt: z.string().default('ab'),
      })
      .prefault({}),
    codes: z
      .strictObject({
        /** Who gets a referral code: only people who are (or were) ready/asked/referrers, or everyone. */
        issueTo: z.enum(['advocates', 'everyone']).default('advocates'),
      })
      .prefault({}),
    attribution: z
      .strictObject({
        /** Days after the capture during which the referred person's won deals are credited. */
        windowDays: Days.default(90),
        /** A click id older than this at capture is outside the window. */
        clickWindowDays: Days.default(90),
        /** The referred person must have been created at most this many days before the capture. */
        newWithinDays: z.number().int().min(0).max(3650).default(30),
        /** Consumer programs: the same (non-public) email domain is a self-referral. */
        consumerProgram: z.boolean().default(false),
        publicEmailDomains: z.array(z.string().min(3)).default(DEFAULT_PUBLIC_DOMAINS),
        /** Fuzzy name similarity (0–1) at or above which a review task is created. */
        fuzzyMinScore: Share.default(0.82),
      })
      .prefault({}),
    rewards: z
      .strictObject({
        currency: z.string().length(3).default('USD'),
        /** What counts as a successful referral: credited (`referred`) or with a won deal (`converted`). */
        successOn: z.enum(['referred', 'converted']).default('converted'),
        perSuccess: z.number().min(0).default(50),
        milestones: z
          .array(
            z.strictObject({
              name: z.string().min(1).max(60),
              /** Reached at exactly this many successful referrals. */
              at: z.number().int().positive(),
              amount: z.number().min(0),
            }),
          )
          .max(20)
          .default([
            { name: '3 referrals bonus', at: 3, amount: 100 },
            { name: '10 referrals bonus', at: 10, amount: 500 },
          ]),
        tiers: z
          .array(z.strictObject({ name: z.string().min(1).max(40), minSuccessful: z.number().int().min(1) }))
          .max(10)
          .default([
            { name: 'Bronze', minSuccessful: 1 },
            { name: 'Silver', minSuccessful: 3 },
            { name: 'Gold', minSuccessful: 10 },
          ]),
      })
      .prefault({}),
    tasks: z
      .strictObject({
        /**
         * Follow-up, thank, review and reward tasks are created only for occasions (capture, win,
         * reward) at most this many days old, so a first backfill of years of history does not
         * flood reps with tasks about the past.
         */
        maxAgeDays: Days.default(30),
        ask: TaskTemplateSchema.default({
          subject: 'Ask {name} for a referral',
          body: 'Readiness {score}/100: {reasons}. Referral link: {link}',
          dueDays: 2,
          priority: 'normal',
        }),
        followUp: TaskTemplateSchema.default({
          subject: 'Follow up referred lead {name}',
          body: '{name} was referred by {referrer} ({method}). Follow up soon.',
          dueDays: 1,
          priority: 'high',
        }),
        thank: TaskTemplateSchema.default({
          subject: 'Thank {name} for referring {referred}',
          body: 'Deal "{deal}" ({amount}) from their referral was won.',
          dueDays: 2,
          priority: 'normal',
        }),
        review: TaskTemplateSchema.default({
          subject: 'Review referral of {name}',
          body: '{name} may have been referred by {referrer}: {reasons}. Confirm and set the referrer.',
          dueDays: 3,
          priority: 'low',
        }),
        reward: TaskTemplateSchema.default({
          subject: 'Reward due for {name}',
          body: '{name} earned {amount}: {reasons}.',
          dueDays: 7,
          priority: 'normal',
        }),
      })
      .prefault({}),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.criteria.forEach((c, i) => {
      if (seen.has(c.kind)) {
        ctx.addIssue({
          code: 'custom',
          path: ['criteria', i, 'kind'],
          message: `duplicate criterion "${c.kind}"`,
        });
      }
      seen.add(c.kind);
    });
    const tags = new Set(['segment-a', 'segment-b', 'vip']);
    r.segments.custom.forEach((s, i) => {
      if (tags.has(s.tag)) {
        ctx.addIssue({
          code: 'custom',
          path: ['segments', 'custom', i, 'tag'],
          message: `duplicate tag "${s.tag}"`,
        });
      }
      tags.add(s.tag);
      s.all.forEach((c, j) => {
        const type = SEGMENT_FIELDS[c.field];
        const ok =
          c.op === 'exists' ||
          ((c.op === 'gte' || c.op === 'lte' || c.op === 'eq') && type === 'number') ||
          ((c.op === 'withinDays' || c.op === 'olderThanDays') && type === 'date') ||
          (c.op === 'is' && type === 'boolean') ||
          (c.op === 'in' && type === 'string');
        if (!ok) {
          ctx.addIssue({
            code: 'custom',
            path: ['segments', 'custom', i, 'all', j, 'op'],
            message: `operator "${c.op}" does not apply to ${type} field "${c.field}"`,
          });
        }
      });
    });
    if (r.pilot.mode === 'segment' && r.pilot.segment !== undefined && !tags.has(r.pilot.segment)) {
      ctx.addIssue({
        code: 'custom',
        path: ['pilot', 'segment'],
        message: `unknown segment tag "${r.pilot.segment}"`,
      });
    }
    const milestoneAts = new Set<number>();
    r.rewards.milestones.forEach((m, i) => {
      if (milestoneAts.has(m.at)) {
        ctx.addIssue({
          code: 'custom',
          path: ['rewards', 'milestones', i, 'at'],
          message: `duplicate milestone at ${m.at}`,
        });
      }
      milestoneAts.add(m.at);
    });
    for (let i = 1; i < r.rewards.tiers.length; i++) {
      if (r.rewards.tiers[i]!.minSuccessful <= r.rewards.tiers[i - 1]!.minSuccessful) {
        ctx.addIssue({
          code: 'custom',
          path: ['rewards', 'tiers', i, 'minSuccessful'],
          message: 'tiers must be in increasing order of minSuccessful',
        });
      }
    }
  });

export type Rules = z.infer<typeof RulesSchema>;
export type RulesInput = z.input<typeof RulesSchema>;

/** Parse admin rules (JSON); `null`/`undefined` = all defaults. Throws ERR_ENGINE_RULES_INVALID. */
export function parseRules(input: unknown): Rules {
  return parseOrThrow(RulesSchema, input ?? {}, 'rules', ERR_ENGINE_RULES_INVALID);
}

export const DEFAULT_RULES: Rules = parseRules({});

/** Sum of criterion weights: the score is the met share of it, on 0–100. */
export function totalWeight(rules: Rules): number {
  let t = 0;
  for (const c of rules.criteria) t += c.weight;
  return t;
}
