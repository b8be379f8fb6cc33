/**
 * Id allocation like Datastore's scattered policy: ids spread over
 * [2^52, 3·2^51) so that consecutive allocations do not hot-spot one key
 * range. That is where production and both Google emulators hand them out
 * (2^52 plus a scattered 51-bit value: 5629499534213120 = 2^52 + 2^50 is a
 * typical first id), and it matters beyond looks: Firestore's emulator will not
 * reserve an id of 3·2^51 or more, so ids we allocated above it made dumps of
 * ours that could not be restored there with their ids reserved. The n-th
 * allocation is 2^52 plus n with its 51 bits reversed, a bijection, so ids
 * never repeat within a database. Reserved ids (ReserveIds) are kept per
 * database, not per kind or parent: reserving id 7 for one kind keeps it from
 * every allocation in that database, which is stricter than Datastore and
 * never wrong. Ids of existing entities are skipped by the caller's check.
 */
const BITS = 51;
const BASE = 2 ** 52;

function reverseBits(n: number): number {
  let r = 0;
  for (let i = 0; i < BITS; i++) {
    r = r * 2 + (n % 2);
    n = Math.floor(n / 2);
  }
  return r;
}

export class IdAllocator {
  private counter = 0;
  private readonly reserved = new Set<string>();

  /** How many ids were handed out (what the durable log keeps, so none is handed out twice). */
  get allocated(): number {
    return this.counter;
  }

  /** Continues after `allocated` ids (replaying the durable log). */
  restore(allocated: number): void {
    if (allocated > this.counter) this.counter = allocated;
  }

  reservedIds(): IterableIterator<string> {
    return this.reserved.values();
  }

  reserve(id: string): void {
    this.reserved.add(id);
  }

  isReserved(id: string): boolean {
    return this.reserved.has(id);
  }

  /** A fresh id that is not reserved and for which `taken(id)` is false. */
  allocate(taken: (id: string) => boolean): string {
    for (;;) {
      this.counter++;
      if (this.counter >= 2 ** BITS) throw new Error('id space exhausted');
      const id = String(BASE + reverseBits(this.counter));
      if (!this.reserved.has(id) && !taken(id)) return id;
    }
  }
}
