/**
 * Dirty data as real CRMs hold it: names in any script and any case, emails typed with capitals
 * and spaces, referrer emails pasted as "Name <email>", and the odd 5,000-character paste into a
 * free-text field. Every helper draws from the seed's stream, so the mess is reproducible.
 */
import { FIRST_NAMES, LAST_NAMES, UNICODE_FIRST_NAMES, UNICODE_LAST_NAMES } from './names.js';
import type { SeedRandom } from './random.js';

export function firstNameFor(random: SeedRandom): string {
  return random.chance(0.08) ? random.pick(UNICODE_FIRST_NAMES) : random.pick(FIRST_NAMES);
}

export function lastNameFor(random: SeedRandom): string {
  return random.chance(0.08) ? random.pick(UNICODE_LAST_NAMES) : random.pick(LAST_NAMES);
}

/** A name as someone typed it into a form: mostly clean, sometimes shouting, lower or padded. */
export function asTypedName(name: string, random: SeedRandom): string {
  const r = random.float();
  if (r < 0.97) return name;
  if (r < 0.98) return name.toUpperCase();
  if (r < 0.99) return name.toLowerCase();
  return ` ${name}  `;
}

/** ASCII-only local part of an email from a name ("José Müller" → "jose.muller"). */
export function emailLocalPart(firstName: string, lastName: string, random: SeedRandom): string {
  const first = asciiSlug(firstName) || 'user';
  const last = asciiSlug(lastName) || 'contact';
  const r = random.float();
  if (r < 0.45) return `${first}.${last}`;
  if (r < 0.65) return `${first.charAt(0)}${last}`;
  if (r < 0.75) return first;
  if (r < 0.85) return `${first}_${last}`;
  return `${first}${last}${random.int(1, 99)}`;
}

function asciiSlug(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/** An email as stored after a careless import: mostly as-is, some capitals, some padded capitals. */
export function asStoredEmail(email: string, random: SeedRandom): string {
  const r = random.float();
  if (r < 0.95) return email;
  if (r < 0.98) return capitalised(email);
  return `  ${email.toUpperCase()} `;
}

/** A referrer email as people type it into "who referred you?". */
export function asTypedReferrerEmail(
  email: string,
  firstName: string | undefined,
  lastName: string | undefined,
  random: SeedRandom,
): string {
  const r = random.float();
  if (r < 0.55) return email;
  if (r < 0.7) return email.toUpperCase();
  if (r < 0.85) return ` ${capitalised(email)} `;
  const name = [firstName, lastName].filter((n) => n !== undefined).join(' ');
  return name === '' ? `<${email}>` : `${name} <${email}>`;
}

function capitalised(email: string): string {
  return email.replace(/(^|[._@])([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

/** A misspelt version of a name, always different from it (for low-confidence fuzzy matches). */
export function fuzzyName(firstName: string, lastName: string, random: SeedRandom): string {
  const r = random.float();
  if (r < 0.3 && lastName.length > 3) {
    const at = random.int(1, lastName.length - 2);
    return `${firstName} ${lastName.slice(0, at)}${lastName.slice(at + 1)}`;
  }
  if (r < 0.55 && firstName.length > 2) {
    const at = random.int(0, firstName.length - 2);
    const swapped =
      firstName.slice(0, at) + firstName.charAt(at + 1) + firstName.charAt(at) + firstName.slice(at + 2);
    if (swapped !== firstName) return `${swapped} ${lastName}`;
  }
  if (r < 0.8) {
    const at = random.int(0, lastName.length - 1);
    return `${firstName} ${lastName.slice(0, at + 1)}${lastName.charAt(at)}${lastName.slice(at + 1)}`.toLowerCase();
  }
  return `${firstName} ${lastName.charAt(0)}.`;
}

const LONG_PARAGRAPH =
  'I first heard about you years ago from a colleague, then again at a conference, and after reading ' +
  'several reviews and comparing with three other vendors we decided to give it a try. ';

/** ≈ 5,000 characters: the paste that breaks 255-character columns and naive CSV handling. */
export function veryLongText(random: SeedRandom): string {
  let text = '';
  while (text.length < 4_900) text += LONG_PARAGRAPH;
  return `${text}ref ${random.token(8)} — “quoted”, commas, and a\nnew line.`;
}
