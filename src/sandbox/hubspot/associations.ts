/**
 * Association storage for the emulator. Both directions are stored (HubSpot answers reads from
 * either side), as flat `[toId, typeId, toId, typeId, …]` number arrays per (pair, fromId) so a
 * million contacts with their company and deals stay small.
 */
import { inverseTypeId, type ObjectType } from './wire.js';

export interface AssociationLink {
  toId: number;
  typeIds: number[];
}

export class AssociationStore {
  private readonly pairs = new Map<string, Map<number, number[]>>();

  private side(from: ObjectType, to: ObjectType): Map<number, number[]> {
    const key = `${from}>${to}`;
    let m = this.pairs.get(key);
    if (m === undefined) {
      m = new Map();
      this.pairs.set(key, m);
    }
    return m;
  }

  private addOne(from: ObjectType, fromId: number, to: ObjectType, toId: number, typeId: number): boolean {
    const side = this.side(from, to);
    let flat = side.get(fromId);
    if (flat === undefined) {
      flat = [];
      side.set(fromId, flat);
    }
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === toId && flat[i + 1] === typeId) return false;
    flat.push(toId, typeId);
    return true;
  }

  /** Associate both ways; returns whether anything changed. */
  add(from: ObjectType, fromId: number, to: ObjectType, toId: number, typeId: number): boolean {
    const changed = this.addOne(from, fromId, to, toId, typeId);
    this.addOne(to, toId, from, fromId, inverseTypeId(from, to, typeId));
    return changed;
  }

  private removeOne(from: ObjectType, fromId: number, to: ObjectType, toId: number): boolean {
    const side = this.pairs.get(`${from}>${to}`);
    const flat = side?.get(fromId);
    if (side === undefined || flat === undefined) return false;
    const kept: number[] = [];
    for (let i = 0; i < flat.length; i += 2) if (flat[i] !== toId) kept.push(flat[i] ?? 0, flat[i + 1] ?? 0);
    if (kept.length === flat.length) return false;
    if (kept.length === 0) side.delete(fromId);
    else side.set(fromId, kept);
    return true;
  }

  /** Remove every association between the two records (all types), both ways. */
  remove(from: ObjectType, fromId: number, to: ObjectType, toId: number): boolean {
    const changed = this.removeOne(from, fromId, to, toId);
    this.removeOne(to, toId, from, fromId);
    return changed;
  }

  list(from: ObjectType, fromId: number, to: ObjectType): AssociationLink[] {
    const flat = this.pairs.get(`${from}>${to}`)?.get(fromId);
    if (flat === undefined) return [];
    const byTo = new Map<number, number[]>();
    for (let i = 0; i < flat.length; i += 2) {
      const toId = flat[i] ?? 0;
      const t = byTo.get(toId);
      if (t === undefined) byTo.set(toId, [flat[i + 1] ?? 0]);
      else t.push(flat[i + 1] ?? 0);
    }
    return [...byTo].map(([toId, typeIds]) => ({ toId, typeIds }));
  }

  has(from: ObjectType, fromId: number, to: ObjectType, toId: number): boolean {
    const flat = this.pairs.get(`${from}>${to}`)?.get(fromId);
    if (flat === undefined) return false;
    for (let i = 0; i < flat.length; i += 2) if (flat[i] === toId) return true;
    return false;
  }

  /** Merge: move every association of `fromId` onto `intoId` (same type). */
  moveAll(type: ObjectType, fromId: number, intoId: number, types: readonly ObjectType[]): void {
    for (const other of types) {
      for (const link of this.list(type, fromId, other)) {
        this.remove(type, fromId, other, link.toId);
        for (const t of link.typeIds) this.add(type, intoId, other, link.toId, t);
      }
    }
  }

  /** Number of stored (one-direction) links, for state inspection. */
  get size(): number {
    let n = 0;
    for (const side of this.pairs.values()) for (const flat of side.values()) n += flat.length / 2;
    return n / 2;
  }

  clear(): void {
    this.pairs.clear();
  }
}
