/**
 * Duplicates: ~1% of contacts repeat the email of an earlier person (an import run twice, a form
 * filled again), sometimes in another case, with the truth kept in `duplicateOfId`.
 */
import type { SeedContext } from './context.js';
import { conversionCopyIds } from './referrals.js';

export function addDuplicates(ctx: SeedContext): void {
  const { random, people } = ctx;
  if (people.length < 2) return;
  const copies = conversionCopyIds(people);
  const isSource = new Set<string>();
  const wanted = Math.max(1, Math.round(people.length * 0.01));
  for (let made = 0, tries = 0; made < wanted && tries < wanted * 30; tries++) {
    const at = random.int(1, people.length - 1);
    const target = people[at];
    const source = people[random.int(0, at - 1)];
    if (target === undefined || source === undefined || source.email === undefined) continue;
    if (target.kind !== 'contact' || target.isEmployee === true || copies.has(target.id)) continue;
    if (target.duplicateOfId !== undefined || source.duplicateOfId !== undefined) continue;
    if (isSource.has(target.id) || copies.has(source.id) || source.convertedContactId !== undefined) continue;
    target.email = random.chance(0.7) ? source.email : source.email.toUpperCase();
    if (random.chance(0.6)) {
      // No `delete` when the source lacks a name: it would push the object into slow mode.
      if (source.firstName !== undefined) target.firstName = source.firstName;
      if (source.lastName !== undefined) target.lastName = source.lastName;
    }
    target.duplicateOfId = source.id;
    isSource.add(source.id);
    made++;
  }
}
