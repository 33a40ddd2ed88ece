// Growable typed arrays: an append-only column (truncatable, to undo a file rejected whole) and an
// id-indexed map with a fill value.

/** An append-only typed column that can be truncated back (to undo a file rejected whole). */
export class Column<T extends Int32Array | Float64Array | Uint8Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}

  static int32(capacity = 1024): Column<Int32Array> {
    return new Column(new Int32Array(Math.max(1024, capacity)), (n) => new Int32Array(n));
  }
  static float64(capacity = 1024): Column<Float64Array> {
    return new Column(new Float64Array(Math.max(1024, capacity)), (n) => new Float64Array(n));
  }
  static uint8(capacity = 1024): Column<Uint8Array> {
    return new Column(new Uint8Array(Math.max(1024, capacity)), (n) => new Uint8Array(n));
  }

  /** Room for n more values, so a loop can store into `data` directly (one type per store site). */
  reserve(n: number): void {
    if (this.length + n <= this.data.length) return;
    const d = this.make(Math.max(this.length + n, Math.ceil(this.data.length * 1.5)));
    d.set(this.data as never);
    this.data = d;
  }

  push(v: number): void {
    if (this.length === this.data.length) {
      // 1.5x: a growing column briefly holds old + new; doubling would peak at 3x the data.
      const d = this.make(Math.ceil(this.data.length * 1.5));
      d.set(this.data as never);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/** An int array indexed by id that grows on demand, filled with `fill`. */
export class IdMap {
  data: Int32Array;
  constructor(
    private readonly fillValue: number,
    capacity = 1024,
  ) {
    this.data = new Int32Array(Math.max(1024, capacity)).fill(fillValue);
  }
  ensure(id: number): void {
    if (id < this.data.length) return;
    let n = this.data.length;
    while (n <= id) n = Math.ceil(n * 1.5);
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
