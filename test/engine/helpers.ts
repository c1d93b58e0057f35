import type { Person, PersonInput, Ticket } from '../../src/engine/model.js';
import { PersonSchema } from '../../src/engine/model.js';
import { DAY_MS } from '../../src/engine/rules.js';

export const NOW = Date.parse('2026-11-23T12:00:00Z');

/** An instant `days` before NOW (fractional days allowed). */
export function ago(days: number, from = NOW): Date {
  return new Date(from - days * DAY_MS);
}

/** A person validated by the canonical schema (so tests use the real model). */
export function person(fields: Partial<PersonInput> = {}): Person {
  return PersonSchema.parse({ id: 'p1', kind: 'contact', isCustomer: true, ...fields });
}

export function ticket(fields: Partial<Ticket> = {}): Ticket {
  return { id: 't1', personIds: ['p1'], isOpen: true, ...fields };
}

export const NO_STATS = { highSpendThreshold: null };
