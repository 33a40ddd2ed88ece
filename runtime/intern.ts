// Dictionary encoding straight from bytes: each distinct string gets a dense integer id, with no
// JS string made on the hot path. Open addressing over typed arrays keeps memory compact.

const decoder = new TextDecoder();

export class Interner {
  private arena = new Uint8Array(1 << 16);
  private arenaLen = 0;
  private offsets = new Int32Array(1 << 10); // id → start; offsets[id + 1] → end
  private hashes = new Int32Array(1 << 10);
  private slots = new Int32Array(1 << 11).fill(-1);
  private mask = (1 << 11) - 1;
  size = 0;

  private static hash(b: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i], 0x01000193);
    h ^= h >>> 15;
    return Math.imul(h, 0x2c1b3c6d) | 0;
  }

  private equals(id: number, b: Uint8Array, s: number, e: number): boolean {
    const o = this.offsets[id];
    const len = this.offsets[id + 1] - o;
    if (len !== e - s) return false;
    const a = this.arena;
    for (let i = 0; i < len; i++) if (a[o + i] !== b[s + i]) return false;
    return true;
  }

  /** Id of the bytes [s, e) of b, or -1 if never interned. */
  lookup(b: Uint8Array, s: number, e: number): number {
    const h = Interner.hash(b, s, e);
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const id = this.slots[i];
      if (id < 0) return -1;
      if (this.hashes[id] === h && this.equals(id, b, s, e)) return id;
    }
  }

  /** Id of the bytes [s, e) of b, adding them if new. */
  intern(b: Uint8Array, s: number, e: number): number {
    const h = Interner.hash(b, s, e);
    let i = h & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const id = this.slots[i];
      if (id < 0) break;
      if (this.hashes[id] === h && this.equals(id, b, s, e)) return id;
    }
    const id = this.size++;
    const len = e - s;
    if (this.arenaLen + len > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + len));
      a.set(this.arena.subarray(0, this.arenaLen));
      this.arena = a;
    }
    this.arena.set(b.subarray(s, e), this.arenaLen);
    if (id + 2 > this.offsets.length) {
      const o = new Int32Array(this.offsets.length * 2);
      o.set(this.offsets);
      this.offsets = o;
      const hs = new Int32Array(this.hashes.length * 2);
      hs.set(this.hashes);
      this.hashes = hs;
    }
    this.offsets[id] = this.arenaLen;
    this.arenaLen += len;
    this.offsets[id + 1] = this.arenaLen;
    this.hashes[id] = h;
    this.slots[i] = id;
    if (this.size * 2 > this.slots.length) this.rehash();
    return id;
  }

  internString(s: string): number {
    const b = Buffer.from(s, 'utf8');
    return this.intern(b, 0, b.length);
  }

  lookupString(s: string): number {
    const b = Buffer.from(s, 'utf8');
    return this.lookup(b, 0, b.length);
  }

  private rehash(): void {
    const cap = this.slots.length * 2;
    const slots = new Int32Array(cap).fill(-1);
    const mask = cap - 1;
    for (let id = 0; id < this.size; id++) {
      let i = this.hashes[id] & mask;
      while (slots[i] >= 0) i = (i + 1) & mask;
      slots[i] = id;
    }
    this.slots = slots;
    this.mask = mask;
  }

  str(id: number): string {
    return decoder.decode(this.arena.subarray(this.offsets[id], this.offsets[id + 1]));
  }
}

/** An append-only typed column that can be truncated back (to undo a file rejected whole). */
export class Column<T extends Int32Array | Float64Array | Uint8Array> {
  length = 0;
  constructor(public data: T, private readonly make: (n: number) => T) {}

  static int32(): Column<Int32Array> {
    return new Column(new Int32Array(1024), (n) => new Int32Array(n));
  }
  static float64(): Column<Float64Array> {
    return new Column(new Float64Array(1024), (n) => new Float64Array(n));
  }
  static uint8(): Column<Uint8Array> {
    return new Column(new Uint8Array(1024), (n) => new Uint8Array(n));
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      const d = this.make(this.data.length * 2);
      d.set(this.data as never);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/** An int array indexed by id that grows on demand, filled with `fill`. */
export class IdMap {
  data: Int32Array;
  constructor(private readonly fillValue: number) {
    this.data = new Int32Array(1024).fill(fillValue);
  }
  ensure(id: number): void {
    if (id < this.data.length) return;
    let n = this.data.length;
    while (n <= id) n *= 2;
    const d = new Int32Array(n).fill(this.fillValue);
    d.set(this.data);
    this.data = d;
  }
  get(id: number): number {
    return id < this.data.length ? this.data[id] : this.fillValue;
  }
  set(id: number, v: number): void {
    this.ensure(id);
    this.data[id] = v;
  }
}
