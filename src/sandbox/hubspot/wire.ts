/**
 * HubSpot wire vocabulary shared by every route of the emulator: object type names and ids, the
 * default association type ids, and the standard error body.
 */
import { randomUUID } from 'node:crypto';
import type { SbResponse as Response } from './http-kit.js';

export const OBJECT_TYPES = ['contacts', 'companies', 'deals', 'tickets', 'tasks'] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

/** Object type ids (HubSpot "0-1" style) and singular names, as accepted in paths. */
const ALIASES: Record<string, ObjectType> = {
  contacts: 'contacts',
  contact: 'contacts',
  '0-1': 'contacts',
  companies: 'companies',
  company: 'companies',
  '0-2': 'companies',
  deals: 'deals',
  deal: 'deals',
  '0-3': 'deals',
  tickets: 'tickets',
  ticket: 'tickets',
  '0-5': 'tickets',
  tasks: 'tasks',
  task: 'tasks',
  '0-27': 'tasks',
};

export const TYPE_IDS: Record<ObjectType, string> = {
  contacts: '0-1',
  companies: '0-2',
  deals: '0-3',
  tickets: '0-5',
  tasks: '0-27',
};

export const SINGULAR: Record<ObjectType, string> = {
  contacts: 'contact',
  companies: 'company',
  deals: 'deal',
  tickets: 'ticket',
  tasks: 'task',
};

export function objectTypeOf(name: string | undefined): ObjectType | undefined {
  return name === undefined ? undefined : ALIASES[name.toLowerCase()];
}

/**
 * Default (unlabeled / primary) association type ids, both directions.
 * API_FACTS §Associations v4 (contact→deal 4, deal→contact 3, contact→task 203, task→contact 204,
 * task→deal 216, deal→task 215, task→company 192, contact→company 279, company→contact 280,
 * deal→company 341); the remaining inverses follow HubSpot's "associations v4" type-id table
 * (company→deal 342, ticket→contact 16, contact→ticket 15, company→task 191, ticket→company 339,
 * company→ticket 340, deal→ticket 27, ticket→deal 28; unverified against the corpus).
 */
const DEFAULT_TYPE_IDS: Record<string, number> = {
  'contacts>deals': 4,
  'deals>contacts': 3,
  'contacts>companies': 279,
  'companies>contacts': 280,
  'deals>companies': 341,
  'companies>deals': 342,
  'contacts>tasks': 203,
  'tasks>contacts': 204,
  'tasks>deals': 216,
  'deals>tasks': 215,
  'tasks>companies': 192,
  'companies>tasks': 191,
  'tickets>contacts': 16,
  'contacts>tickets': 15,
  'tickets>companies': 339,
  'companies>tickets': 340,
  'deals>tickets': 27,
  'tickets>deals': 28,
};

/** Primary (labeled "Primary") type ids that some v3 bodies use; they map onto the same pair. */
const PRIMARY_TYPE_IDS: Record<string, number> = {
  'contacts>companies': 1,
  'companies>contacts': 2,
  'deals>companies': 5,
  'companies>deals': 6,
  'tickets>companies': 26,
  'companies>tickets': 25,
};

export function defaultTypeId(from: ObjectType, to: ObjectType): number | undefined {
  return DEFAULT_TYPE_IDS[`${from}>${to}`];
}

/** Is `typeId` a HUBSPOT_DEFINED type for this pair (unlabeled or primary)? */
export function isKnownTypeId(from: ObjectType, to: ObjectType, typeId: number): boolean {
  return DEFAULT_TYPE_IDS[`${from}>${to}`] === typeId || PRIMARY_TYPE_IDS[`${from}>${to}`] === typeId;
}

/** The type id of the reverse direction for a HUBSPOT_DEFINED type id. */
export function inverseTypeId(from: ObjectType, to: ObjectType, typeId: number): number {
  if (PRIMARY_TYPE_IDS[`${from}>${to}`] === typeId) return PRIMARY_TYPE_IDS[`${to}>${from}`] ?? typeId;
  return DEFAULT_TYPE_IDS[`${to}>${from}`] ?? typeId;
}

/** v3 association type names as they appear in `associations.{type}.results[].type`. */
export function v3TypeName(from: ObjectType, to: ObjectType, typeId: number): string {
  const base = `${SINGULAR[from]}_to_${SINGULAR[to]}`;
  return PRIMARY_TYPE_IDS[`${from}>${to}`] === typeId || from === 'tasks' || to === 'tasks'
    ? base
    : DEFAULT_TYPE_IDS[`${from}>${to}`] === typeId && (to === 'companies' || from === 'companies')
      ? `${base}_unlabeled`
      : base;
}

export interface HubSpotErrorDetail {
  message: string;
  code?: string;
  context?: Record<string, string[]>;
}

export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  subCategory?: string;
  errors?: HubSpotErrorDetail[];
  context?: Record<string, string[]>;
  links?: Record<string, string>;
}

/** API_FACTS §CRM v3: `{status:"error",message,correlationId,category,errors?,links?}`. */
export function errorBody(
  category: string,
  message: string,
  extra: Partial<Omit<HubSpotErrorBody, 'status' | 'message' | 'category' | 'correlationId'>> = {},
): HubSpotErrorBody {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

export function sendError(
  res: Response,
  httpStatus: number,
  category: string,
  message: string,
  extra: Partial<Omit<HubSpotErrorBody, 'status' | 'message' | 'category' | 'correlationId'>> = {},
): void {
  res.status(httpStatus).json(errorBody(category, message, extra));
}

/** An error raised inside a route and turned into a HubSpot error body by the error handler. */
export class HubSpotHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly category: string,
    message: string,
    readonly extra: Partial<Omit<HubSpotErrorBody, 'status' | 'message' | 'category' | 'correlationId'>> = {},
  ) {
    super(message);
  }
}

/**
 * The "Property values were not valid" shape HubSpot returns for bad writes: the message embeds a
 * JSON list of per-property verdicts, and `errors[]` carries `{message, code, context}`
 * (API_FACTS §CRM v3 error body; e.g. 400 VALIDATION_ERROR / PROPERTY_DOESNT_EXIST).
 */
export interface PropertyProblem {
  name: string;
  code: string;
  message: string;
}

export function propertyValidationError(problems: PropertyProblem[]): HubSpotHttpError {
  const verdicts = problems.map((p) => ({
    isValid: false,
    message: p.message,
    error: p.code,
    name: p.name,
    localizedErrorMessage: p.message,
  }));
  return new HubSpotHttpError(
    400,
    'VALIDATION_ERROR',
    `Property values were not valid: ${JSON.stringify(verdicts)}`,
    {
      errors: problems.map((p) => ({
        message: p.message,
        code: p.code,
        context: { propertyName: [p.name] },
      })),
    },
  );
}

export function validationError(message: string, extra: HubSpotHttpError['extra'] = {}): HubSpotHttpError {
  return new HubSpotHttpError(400, 'VALIDATION_ERROR', message, extra);
}
