/** Support tickets: mostly closed, some open (a readiness veto), some complaints. */
import { isCustomerStage, type SeedContext } from './context.js';
import { COMPLAINT_SUBJECTS, TICKET_SUBJECTS } from './names.js';
import { DAY_MS } from './random.js';
import { blankTicket } from './shapes.js';
import type { SeedTicket } from './types.js';

export function generateTickets(ctx: SeedContext): SeedTicket[] {
  const { random, people, asOfMs } = ctx;
  const tickets: SeedTicket[] = [];
  for (const person of people) {
    if (person.kind !== 'contact' || !isCustomerStage(person.lifecycleStage) || !random.chance(0.12))
      continue;
    const count = Math.min(5, random.geometric(1.3));
    const earliest = Math.min(365, (asOfMs - person.createdAt.getTime()) / DAY_MS);
    for (let k = 0; k < count; k++) {
      const isComplaint = random.chance(0.08);
      const isOpen = random.chance(0.2);
      const createdAt = isOpen
        ? random.daysAgo(asOfMs, 0, Math.min(30, earliest))
        : random.daysAgo(asOfMs, 0, earliest);
      const ticket = blankTicket({
        id: `t${tickets.length + 1}`,
        subject: isComplaint ? random.pick(COMPLAINT_SUBJECTS) : random.pick(TICKET_SUBJECTS),
        personIds: [person.id],
        isOpen,
        isComplaint,
        createdAt,
      });
      if (person.companyId !== undefined) ticket.companyId = person.companyId;
      if (!isOpen) {
        const closed = createdAt.getTime() + random.float() * 20 * DAY_MS + 3_600_000;
        ticket.closedAt = new Date(Math.min(asOfMs - 60_000, closed));
      }
      tickets.push(ticket);
    }
  }
  return tickets;
}
