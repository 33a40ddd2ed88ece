// A small Apache Parquet writer for the curated zone's flat tables: required columns only, one row
// group, one data page per column; PLAIN values, or a dictionary for the columns asked (RLE_
// DICTIONARY indices); pages optionally ZSTD-compressed; min/max statistics on request. That is all
// the lake needs, and it writes straight from dictionary ids with no row objects. The format:
// "PAR1", each column chunk (page headers + pages), the file metadata in Thrift's compact
// protocol, its length, "PAR1" (parquet-format: Encodings.md, parquet.thrift).
import { zstdCompress } from './zstd';

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
  /** STRING only: write a dictionary page and the values as indices into it (few distinct values) */
  dictionary?: boolean;
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
const ENCODING_RLE_DICTIONARY = 8;
const CODEC_UNCOMPRESSED = 0;
const CODEC_ZSTD = 6;
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;

export interface WriteOptions {
  /** page compression (ZSTD needs zstdReady() first) */
  codec?: 'UNCOMPRESSED' | 'ZSTD';
  /** min/max statistics of STRING and INT64 columns, so engines can skip files and row groups */
  statistics?: boolean;
  createdBy?: string;
  /** the file's key-value metadata (readers show it; the validated zone names its schema version here) */
  metadata?: Record<string, string>;
}

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
  binary(id: number, b: Uint8Array): this {
    this.field(id, T_BINARY);
    this.o.varint(b.length);
    this.o.bytes(b);
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
    for (let i = 0; i < n; i++) {
      const s = String(values[i]);
      // ASCII (ids, dates) byte by byte: cheaper than a native call per short value.
      o.ensure(4 + 3 * s.length);
      const b = o.buf;
      let at = o.n + 4;
      let k = 0;
      for (; k < s.length; k++) {
        const ch = s.charCodeAt(k);
        if (ch >= 0x80) break;
        b[at++] = ch;
      }
      if (k < s.length) at = o.n + 4 + b.write(s, o.n + 4, 'utf8');
      const len = at - o.n - 4;
      b[o.n] = len & 0xff;
      b[o.n + 1] = (len >>> 8) & 0xff;
      b[o.n + 2] = (len >>> 16) & 0xff;
      b[o.n + 3] = len >>> 24;
      o.n = at;
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

/** A string column as a dictionary (distinct values in first-seen order) and one index per value. */
function dictionaryOf(c: Column): { dict: Column; indices: Int32Array; size: number } {
  const n = lengthOf(c);
  const indices = new Int32Array(n);
  if (c.ids && c.dict) {
    const at = new Map<number, number>();
    const distinct: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = c.ids[i]!;
      let k = at.get(id);
      if (k === undefined) at.set(id, (k = distinct.push(id) - 1));
      indices[i] = k;
    }
    return {
      dict: { name: c.name, type: 'STRING', ids: Int32Array.from(distinct), dict: c.dict },
      indices,
      size: distinct.length,
    };
  }
  const at = new Map<string, number>();
  const distinct: string[] = [];
  const values = c.values ?? [];
  for (let i = 0; i < n; i++) {
    const v = String(values[i]);
    let k = at.get(v);
    if (k === undefined) at.set(v, (k = distinct.push(v) - 1));
    indices[i] = k;
  }
  return { dict: { name: c.name, type: 'STRING', values: distinct }, indices, size: distinct.length };
}

/** RLE_DICTIONARY data: the bit width, then the indices as bit-packed groups of 8 (the RLE/bit-packing hybrid). */
function dictionaryIndices(indices: Int32Array, size: number): Buffer {
  const width = Math.max(1, Math.ceil(Math.log2(Math.max(2, size))));
  const groups = Math.ceil(indices.length / 8);
  const o = new Out();
  o.byte(width);
  if (!groups) return o.result();
  o.varint(groups * 2 + 1);
  const bytes = groups * width;
  o.ensure(bytes);
  o.buf.fill(0, o.n, o.n + bytes);
  // value i occupies bits [i*width, (i+1)*width) of the run, least significant bit first
  for (let i = 0; i < indices.length; i++) {
    let v = indices[i]!;
    let bit = i * width;
    for (let left = width; left > 0;) {
      const byte = o.n + (bit >> 3);
      const off = bit & 7;
      const take = Math.min(left, 8 - off);
      o.buf[byte]! |= (v & ((1 << take) - 1)) << off;
      v >>>= take;
      bit += take;
      left -= take;
    }
  }
  o.n += bytes;
  return o.result();
}

/** The smallest and largest value of a PLAIN page (byte order for strings, as Parquet orders them). */
function minMax(c: Column, plain: Buffer): { min: Buffer; max: Buffer } | null {
  const n = lengthOf(c);
  if (!n || c.type === 'BOOLEAN') return null;
  if (c.type === 'INT64') {
    let lo = 0;
    let hi = 0;
    // The values themselves when they are a typed array (exact below 2^53), else read back.
    const typed = c.values instanceof Float64Array ? c.values : null;
    if (typed) {
      for (let i = 1; i < n; i++) {
        const x = typed[i]!;
        if (x < typed[lo]!) lo = i;
        else if (x > typed[hi]!) hi = i;
      }
    } else {
      const v = (i: number) => plain.readUInt32LE(i * 8) + plain.readInt32LE(i * 8 + 4) * 2 ** 32;
      for (let i = 1; i < n; i++) {
        if (v(i) < v(lo)) lo = i;
        if (v(i) > v(hi)) hi = i;
      }
    }
    return {
      min: Buffer.from(plain.subarray(lo * 8, lo * 8 + 8)),
      max: Buffer.from(plain.subarray(hi * 8, hi * 8 + 8)),
    };
  }
  // Offsets into the page, compared in place (no view or copy per value: this runs per row).
  let lo = 4;
  let loLen = plain.readUInt32LE(0);
  let hi = lo;
  let hiLen = loLen;
  for (let at = 4 + loLen; at < plain.length;) {
    const len = plain[at]! | (plain[at + 1]! << 8) | (plain[at + 2]! << 16) | (plain[at + 3]! << 24);
    const v = at + 4;
    if (compareAt(plain, v, len, lo, loLen) < 0) [lo, loLen] = [v, len];
    else if (compareAt(plain, v, len, hi, hiLen) > 0) [hi, hiLen] = [v, len];
    at = v + len;
  }
  return { min: Buffer.from(plain.subarray(lo, lo + loLen)), max: Buffer.from(plain.subarray(hi, hi + hiLen)) };
}

/** Unsigned byte order of b[x, x + xl) and b[y, y + yl). */
function compareAt(b: Buffer, x: number, xl: number, y: number, yl: number): number {
  const n = Math.min(xl, yl);
  for (let i = 0; i < n; i++) {
    const d = b[x + i]! - b[y + i]!;
    if (d) return d;
  }
  return xl - yl;
}

interface Chunk {
  /** where the chunk's first page starts, and its data page */
  offset: number;
  dataOffset: number;
  dictOffset: number | null;
  compressed: number;
  uncompressed: number;
  encodings: number[];
  stats: { min: Buffer; max: Buffer } | null;
}

/**
 * Writes one page (header, then the body compressed when asked). Returns its size as it would be
 * uncompressed, header included (what ColumnMetaData.total_uncompressed_size adds up).
 */
function writePage(
  file: Out,
  codec: number,
  body: Buffer,
  header: (h: Struct, size: { raw: number; stored: number }) => void,
): number {
  const stored = codec === CODEC_ZSTD ? zstdCompress(body) : body;
  const start = file.n;
  const h = new Struct(file);
  header(h, { raw: body.length, stored: stored.length });
  h.end();
  const headerBytes = file.n - start;
  file.bytes(stored);
  return headerBytes + body.length;
}

function writeChunk(file: Out, c: Column, rows: number, codec: number, statistics: boolean): Chunk {
  const offset = file.n;
  const plain = plainValues(c);
  const stats = statistics ? minMax(c, plain) : null;
  let dictOffset: number | null = null;
  let data = plain;
  let encoding = ENCODING_PLAIN;
  let uncompressed = 0;
  if (c.dictionary && c.type === 'STRING') {
    const d = dictionaryOf(c);
    const dictPage = plainValues(d.dict);
    dictOffset = file.n;
    uncompressed += writePage(file, codec, dictPage, (h, size) => {
      h.i32(1, PAGE_DICTIONARY).i32(2, size.raw).i32(3, size.stored);
      h.struct(7, (dh) => dh.i32(1, d.size).i32(2, ENCODING_PLAIN));
    });
    data = dictionaryIndices(d.indices, d.size);
    encoding = ENCODING_RLE_DICTIONARY;
  }
  const dataOffset = file.n;
  // Required top-level columns have no repetition or definition levels: the page is the values.
  uncompressed += writePage(file, codec, data, (h, size) => {
    h.i32(1, PAGE_DATA).i32(2, size.raw).i32(3, size.stored);
    h.struct(5, (d) => d.i32(1, rows).i32(2, encoding).i32(3, ENCODING_RLE).i32(4, ENCODING_RLE));
  });
  const encodings =
    dictOffset === null ? [ENCODING_PLAIN, ENCODING_RLE] : [ENCODING_PLAIN, ENCODING_RLE, ENCODING_RLE_DICTIONARY];
  return { offset, dataOffset, dictOffset, compressed: file.n - offset, uncompressed, encodings, stats };
}

/** One Parquet file holding the given columns (all of the same length). */
export function writeParquet(columns: Column[], opts: WriteOptions | string = {}): Uint8Array {
  const o: WriteOptions = typeof opts === 'string' ? { createdBy: opts } : opts;
  const codec = o.codec === 'ZSTD' ? CODEC_ZSTD : CODEC_UNCOMPRESSED;
  const rows = columns[0] ? lengthOf(columns[0]) : 0;
  for (const c of columns)
    if (lengthOf(c) !== rows) throw new Error(`column ${c.name} has ${lengthOf(c)} values, expected ${rows}`);
  const file = new Out();
  file.bytes(Buffer.from('PAR1'));
  const chunks = columns.map((c) => writeChunk(file, c, rows, codec, o.statistics ?? false));
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
      const k = chunks[i]!;
      cc.i64(2, k.offset);
      cc.struct(3, (m) => {
        m.i32(1, physical(c.type));
        m.list(2, T_I32, k.encodings.length, (e) => file.zigzag(k.encodings[e]!));
        m.list(3, T_BINARY, 1, () => {
          const b = Buffer.from(c.name, 'utf8');
          file.varint(b.length);
          file.bytes(b);
        });
        m.i32(4, codec).i64(5, rows).i64(6, k.uncompressed).i64(7, k.compressed).i64(9, k.dataOffset);
        if (k.dictOffset !== null) m.i64(11, k.dictOffset);
        if (k.stats) {
          const { min, max } = k.stats;
          m.struct(12, (st) => st.i64(3, 0).binary(5, max).binary(6, min));
        }
      });
    });
    rg.i64(
      2,
      chunks.reduce((n, x) => n + x.uncompressed, 0),
    ).i64(3, rows);
  });
  const kv = Object.entries(o.metadata ?? {});
  if (kv.length) meta.structs(5, kv.length, (s, i) => s.string(1, kv[i]![0]).string(2, kv[i]![1]));
  meta.string(6, o.createdBy ?? 'ecommerce-kpi-pipeline');
  // Column orders: min/max of byte arrays compare as unsigned bytes (readers ignore them otherwise).
  if (o.statistics) meta.structs(7, columns.length, (co) => co.struct(1, () => undefined));
  meta.end();
  const metaLen = file.n - metaStart;
  file.ensure(8);
  file.buf.writeUInt32LE(metaLen, file.n);
  file.n += 4;
  file.bytes(Buffer.from('PAR1'));
  return file.result();
}
