// A minimal Apache Parquet writer for the curated zone's flat tables: required columns only,
// PLAIN encoding, no compression, one row group, one data page per column. That is all the lake
// needs, and it is several times faster than a general writer (no dictionaries, statistics or
// codecs). The format: "PAR1", each column chunk (page header + values), the file metadata in
// Thrift's compact protocol, its length, "PAR1" (parquet-format: Encodings.md, parquet.thrift).

export type ColumnType = 'STRING' | 'INT64' | 'BOOLEAN';

/** Where a string column's bytes come from without a JS string per value (an Interner). */
export interface Utf8Dict {
  byteLength(id: number): number;
  /** writes id's UTF-8 bytes at b[at], returns the end */
  writeUtf8(id: number, b: Uint8Array, at: number): number;
}

export interface Column {
  name: string;
  type: ColumnType;
  /** strings, integers (exact up to 2^53), or booleans (typed arrays: integers, 0/1) */
  values?: readonly (string | number | boolean)[] | Float64Array | Uint8Array;
  /** STRING only, instead of values: dictionary ids and their dictionary */
  ids?: Int32Array;
  dict?: Utf8Dict;
}

const lengthOf = (c: Column) => (c.ids ?? c.values ?? []).length;

// parquet.thrift enums
const TYPE = { BOOLEAN: 0, INT64: 2, BYTE_ARRAY: 6 } as const;
const REQUIRED = 0;
const CONVERTED_UTF8 = 0;
const ENCODING_PLAIN = 0;
const ENCODING_RLE = 3;
const CODEC_UNCOMPRESSED = 0;
const PAGE_DATA = 0;

// Thrift compact protocol field types
const T_I32 = 5;
const T_I64 = 6;
const T_BINARY = 8;
const T_LIST = 9;
const T_STRUCT = 12;

/** A growable byte buffer. */
class Out {
  buf = Buffer.allocUnsafe(1 << 16);
  n = 0;
  ensure(extra: number): void {
    if (this.n + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + extra));
    this.buf.copy(next, 0, 0, this.n);
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.n++] = b;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  /** unsigned LEB128 varint (numbers up to 2^53) */
  varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.n++] = v;
  }
  /** zigzag varint, as Thrift compact writes i32 and i64 */
  zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  result(): Buffer {
    return this.buf.subarray(0, this.n);
  }
}

/** Thrift compact struct writer: fields in increasing id order. */
class Struct {
  private last = 0;
  constructor(private readonly o: Out) {}
  private field(id: number, type: number): void {
    const delta = id - this.last;
    if (delta > 0 && delta <= 15) this.o.byte((delta << 4) | type);
    else {
      this.o.byte(type);
      this.o.zigzag(id);
    }
    this.last = id;
  }
  i32(id: number, v: number): this {
    this.field(id, T_I32);
    this.o.zigzag(v);
    return this;
  }
  i64(id: number, v: number): this {
    this.field(id, T_I64);
    this.o.zigzag(v);
    return this;
  }
  string(id: number, s: string): this {
    this.field(id, T_BINARY);
    const b = Buffer.from(s, 'utf8');
    this.o.varint(b.length);
    this.o.bytes(b);
    return this;
  }
  struct(id: number, write: (s: Struct) => void): this {
    this.field(id, T_STRUCT);
    const s = new Struct(this.o);
    write(s);
    s.end();
    return this;
  }
  list(id: number, elemType: number, items: number, write: (i: number) => void): this {
    this.field(id, T_LIST);
    if (items < 15) this.o.byte((items << 4) | elemType);
    else {
      this.o.byte(0xf0 | elemType);
      this.o.varint(items);
    }
    for (let i = 0; i < items; i++) write(i);
    return this;
  }
  /** a list of structs */
  structs(id: number, items: number, write: (s: Struct, i: number) => void): this {
    return this.list(id, T_STRUCT, items, (i) => {
      const s = new Struct(this.o);
      write(s, i);
      s.end();
    });
  }
  end(): void {
    this.o.byte(0);
  }
  get out(): Out {
    return this.o;
  }
}

/** The PLAIN-encoded values of one column. */
function plainValues(c: Column): Buffer {
  const o = new Out();
  const n = lengthOf(c);
  const values = c.values ?? [];
  if (c.type === 'STRING' && c.ids && c.dict) {
    const { ids, dict } = c;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      o.ensure(4 + dict.byteLength(id));
      // the value, then its length in the 4 bytes before it (little-endian)
      const at = o.n;
      const end = dict.writeUtf8(id, o.buf, at + 4);
      const len = end - at - 4;
      const b = o.buf;
      b[at] = len & 0xff;
      b[at + 1] = (len >>> 8) & 0xff;
      b[at + 2] = (len >>> 16) & 0xff;
      b[at + 3] = len >>> 24;
      o.n = end;
    }
  } else if (c.type === 'STRING') {
    for (const v of values) {
      const s = String(v);
      const len = Buffer.byteLength(s);
      o.ensure(4 + len);
      o.buf.writeUInt32LE(len, o.n);
      o.buf.write(s, o.n + 4, 'utf8');
      o.n += 4 + len;
    }
  } else if (c.type === 'INT64') {
    o.ensure(8 * n);
    // Two 32-bit halves (two's complement through floor): exact to 2^53, no BigInt per value.
    for (let i = 0; i < n; i++) {
      const v = Number(values[i]);
      const hi = Math.floor(v / 2 ** 32);
      o.buf.writeUInt32LE(v - hi * 2 ** 32, o.n);
      o.buf.writeInt32LE(hi, o.n + 4);
      o.n += 8;
    }
  } else {
    // bit-packed, least significant bit first
    const bytes = Math.ceil(n / 8);
    o.ensure(bytes);
    o.buf.fill(0, o.n, o.n + bytes);
    for (let i = 0; i < n; i++) if (values[i]) o.buf[o.n + (i >> 3)]! |= 1 << (i & 7);
    o.n += bytes;
  }
  return o.result();
}

const physical = (t: ColumnType) => (t === 'STRING' ? TYPE.BYTE_ARRAY : t === 'INT64' ? TYPE.INT64 : TYPE.BOOLEAN);

/** One Parquet file holding the given columns (all of the same length). */
export function writeParquet(columns: Column[], createdBy = 'ecommerce-kpi-pipeline'): Uint8Array {
  const rows = columns[0] ? lengthOf(columns[0]) : 0;
  for (const c of columns) if (lengthOf(c) !== rows) throw new Error(`column ${c.name} has ${lengthOf(c)} values, expected ${rows}`);
  const file = new Out();
  file.bytes(Buffer.from('PAR1'));
  const chunks: { offset: number; size: number }[] = [];
  for (const c of columns) {
    const data = plainValues(c);
    const offset = file.n;
    // Required top-level columns have no repetition or definition levels: the page is the values.
    const header = new Struct(file);
    header.i32(1, PAGE_DATA).i32(2, data.length).i32(3, data.length);
    header.struct(5, (d) => d.i32(1, rows).i32(2, ENCODING_PLAIN).i32(3, ENCODING_RLE).i32(4, ENCODING_RLE));
    header.end();
    file.bytes(data);
    chunks.push({ offset, size: file.n - offset });
  }
  const metaStart = file.n;
  const meta = new Struct(file);
  meta.i32(1, 1);
  meta.structs(2, columns.length + 1, (s, i) => {
    if (i === 0) {
      s.i32(3, REQUIRED).string(4, 'schema').i32(5, columns.length);
      return;
    }
    const c = columns[i - 1]!;
    s.i32(1, physical(c.type)).i32(3, REQUIRED).string(4, c.name);
    if (c.type === 'STRING') s.i32(6, CONVERTED_UTF8);
  });
  meta.i64(3, rows);
  meta.structs(4, 1, (rg) => {
    rg.structs(1, columns.length, (cc, i) => {
      const c = columns[i]!;
      const { offset, size } = chunks[i]!;
      cc.i64(2, offset);
      cc.struct(3, (m) => {
        m.i32(1, physical(c.type));
        m.list(2, T_I32, 2, (k) => file.zigzag(k === 0 ? ENCODING_PLAIN : ENCODING_RLE));
        m.list(3, T_BINARY, 1, () => {
          const b = Buffer.from(c.name, 'utf8');
          file.varint(b.length);
          file.bytes(b);
        });
        m.i32(4, CODEC_UNCOMPRESSED).i64(5, rows).i64(6, size).i64(7, size).i64(9, offset);
      });
    });
    rg.i64(
      2,
      chunks.reduce((n, x) => n + x.size, 0),
    ).i64(3, rows);
  });
  meta.string(6, createdBy);
  meta.end();
  const metaLen = file.n - metaStart;
  file.ensure(8);
  file.buf.writeUInt32LE(metaLen, file.n);
  file.n += 4;
  file.bytes(Buffer.from('PAR1'));
  return file.result();
}
