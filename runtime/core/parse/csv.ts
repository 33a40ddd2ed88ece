// Stage 1 — bytes → records. A byte-level RFC 4180 scanner is the fast path; csv-parse is the
// reference and the fallback for input the scanner declines (non-RFC quoting).
import { CsvError, parse } from 'csv-parse';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { open } from 'node:fs/promises';

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/** One record: fields are byte ranges of `buf`, valid only during the callback. */
export interface CsvRecord {
  buf: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
  count: number;
  /** 1-based line on which the record starts (the header is line 1). */
  line: number;
}

export type RecordHandler = (rec: CsvRecord) => void;

/** The fast scanner cannot read this input exactly; the caller retries with csv-parse. */
export class Declined extends Error {}

/** The input is not CSV at all (csv-parse could not read it either). */
export class NotCsv extends Error {}

export class FastCsvScanner {
  private first = true;
  private line = 1;
  private rec: CsvRecord = {
    buf: new Uint8Array(0),
    starts: new Int32Array(64),
    ends: new Int32Array(64),
    count: 0,
    line: 0,
  };
  private escaped = new Uint8Array(64);
  /** Bytes of an incomplete record carried to the next chunk, in a buffer that grows by doubling. */
  private carry = new Uint8Array(0);
  private carried = 0;
  /** An incomplete record is rescanned only once the carry has doubled, so a record of n bytes
   * split into many small chunks costs O(n), not O(n²) (regression: a 50 MB single-line file). */
  private rescanAt = 0;
  /** Bytes handed to scan() so far: the work done, for the linear-cost regression test. */
  scanned = 0;

  /** atFileStart: a leading BOM is dropped (false for a record cut out of a file's middle). */
  constructor(
    private readonly onRecord: RecordHandler,
    atFileStart = true,
  ) {
    this.first = atFileStart;
  }

  push(chunk: Uint8Array): void {
    if (this.carried === 0 && !this.first) {
      // The common case: scan the chunk where it is, carry only its incomplete tail.
      const used = this.scan(chunk, false);
      this.keep(chunk, used);
      return;
    }
    this.append(chunk);
    if (this.carried < this.rescanAt) return;
    let buf = this.carry.subarray(0, this.carried);
    if (this.first) {
      if (buf.length < 3) return;
      this.first = false;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    }
    const used = this.scan(buf, false);
    const offset = buf.byteOffset - this.carry.byteOffset;
    this.carry.copyWithin(0, offset + used, this.carried);
    this.carried -= offset + used;
    this.rescanAt = used === 0 ? this.carried * 2 : 0;
  }

  /** Drops any carried bytes (the scanner is reused for unrelated input). */
  reset(): void {
    this.carried = 0;
    this.rescanAt = 0;
  }

  end(): void {
    let buf = this.carry.subarray(0, this.carried);
    this.carried = 0;
    if (!buf.length) return;
    if (this.first && buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) buf = buf.subarray(3);
    this.first = false;
    this.scan(buf, true);
  }

  /** Appends to the carry (copied: the source may refill the chunk's buffer). */
  private append(chunk: Uint8Array): void {
    const n = this.carried + chunk.length;
    if (this.carry.length < n) {
      const grown = new Uint8Array(Math.max(n, this.carry.length * 2, 1 << 16));
      grown.set(this.carry.subarray(0, this.carried));
      this.carry = grown;
    }
    this.carry.set(chunk, this.carried);
    this.carried = n;
  }

  private keep(chunk: Uint8Array, used: number): void {
    if (used >= chunk.length) return;
    this.append(chunk.subarray(used));
    this.rescanAt = 0;
  }

  private grow(): void {
    const n = this.rec.starts.length * 2;
    const s = new Int32Array(n);
    s.set(this.rec.starts);
    const e = new Int32Array(n);
    e.set(this.rec.ends);
    const x = new Uint8Array(n);
    x.set(this.escaped);
    this.rec.starts = s;
    this.rec.ends = e;
    this.escaped = x;
  }

  /** Emits every complete record of `buf`; returns where the first incomplete one starts. */
  private scan(buf: Uint8Array, final: boolean): number {
    const n = buf.length;
    this.scanned += n;
    let p = 0;
    const rec = this.rec;
    rec.buf = buf;
    outer: while (p < n) {
      const recStart = p;
      let nf = 0;
      let newlines = 0;
      for (;;) {
        if (nf === rec.starts.length) this.grow();
        const starts = rec.starts;
        const ends = rec.ends;
        if (p < n && buf[p] === QUOTE) {
          let q = p + 1;
          let esc = 0;
          let close: number;
          for (;;) {
            const k = buf.indexOf(QUOTE, q);
            if (k < 0) {
              if (final) throw new Declined('unterminated quoted field');
              return recStart;
            }
            if (k + 1 < n && buf[k + 1] === QUOTE) {
              esc = 1;
              q = k + 2;
              continue;
            }
            if (k + 1 >= n && !final) return recStart;
            close = k;
            break;
          }
          for (let i = p + 1; i < close; i++) if (buf[i] === LF) newlines++;
          starts[nf] = p + 1;
          ends[nf] = close;
          this.escaped[nf] = esc;
          nf++;
          p = close + 1;
          if (p >= n) {
            if (!final) return recStart;
            this.emit(nf, newlines);
            break outer;
          }
          const c = buf[p];
          if (c === COMMA) {
            p++;
            continue;
          }
          if (c === LF) {
            p++;
            this.emit(nf, newlines);
            continue outer;
          }
          if (c === CR) {
            if (p + 1 < n && buf[p + 1] === LF) {
              p += 2;
              this.emit(nf, newlines);
              continue outer;
            }
            if (p + 1 >= n && !final) return recStart;
          }
          throw new Declined(`text after a closing quote on line ${this.line + newlines}`);
        }
        let q = p;
        let c = 0;
        while (q < n) {
          c = buf[q];
          if (c === COMMA || c === LF) break;
          if (c === QUOTE) throw new Declined(`quote inside an unquoted field on line ${this.line + newlines}`);
          if (c === CR) {
            if (q + 1 < n && buf[q + 1] === LF) break;
            if (q + 1 >= n && !final) return recStart;
            // A CR not followed by LF is data (SPEC: lines end in \n or \r\n).
          }
          q++;
        }
        if (q >= n && !final) return recStart;
        starts[nf] = p;
        ends[nf] = q;
        this.escaped[nf] = 0;
        nf++;
        if (q >= n) {
          p = n;
          if (!(nf === 1 && q === starts[0])) this.emit(nf, newlines);
          break outer;
        }
        if (c === COMMA) {
          p = q + 1;
          continue;
        }
        const empty = nf === 1 && q === starts[0];
        p = c === CR ? q + 2 : q + 1;
        if (empty) {
          this.line++;
          continue outer;
        }
        this.emit(nf, newlines);
        continue outer;
      }
    }
    return n;
  }

  private emit(nf: number, newlines: number): void {
    const rec = this.rec;
    for (let i = 0; i < nf; i++) {
      if (this.escaped[i]) rec.ends[i] = unescapeInPlace(rec.buf, rec.starts[i], rec.ends[i]);
    }
    rec.count = nf;
    rec.line = this.line;
    this.line += 1 + newlines;
    this.onRecord(rec);
  }
}

/** Turns doubled quotes into single ones inside [s, e); returns the new end. */
function unescapeInPlace(buf: Uint8Array, s: number, e: number): number {
  let w = s;
  for (let r = s; r < e; r++) {
    buf[w++] = buf[r];
    if (buf[r] === QUOTE) r++;
  }
  return w;
}

const encoder = new TextEncoder();

/** csv-parse, feeding the same handler: records are re-encoded to bytes. */
export async function parseWithCsvParse(source: AsyncIterable<Uint8Array>, onRecord: RecordHandler): Promise<void> {
  // Line ends are \n or \r\n on any line (not guessed from the first one); a bare CR is data.
  const parser = parse({
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    info: true,
    record_delimiter: ['\r\n', '\n'],
  });
  let scratch = new Uint8Array(1 << 16);
  const rec: CsvRecord = { buf: scratch, starts: new Int32Array(64), ends: new Int32Array(64), count: 0, line: 0 };
  const consume = async (records: AsyncIterable<{ record: string[]; info: { lines: number } }>): Promise<void> => {
    for await (const item of records) {
      const fields = item.record;
      if (fields.length > rec.starts.length) {
        rec.starts = new Int32Array(fields.length * 2);
        rec.ends = new Int32Array(fields.length * 2);
      }
      let need = 0;
      for (const f of fields) need += f.length * 3;
      if (need > scratch.length) scratch = new Uint8Array(need * 2);
      let p = 0;
      for (let i = 0; i < fields.length; i++) {
        rec.starts[i] = p;
        p += encoder.encodeInto(fields[i], scratch.subarray(p)).written;
        rec.ends[i] = p;
      }
      rec.buf = scratch;
      rec.count = fields.length;
      let inner = 0;
      for (const f of fields) for (let i = f.indexOf('\n'); i >= 0; i = f.indexOf('\n', i + 1)) inner++;
      rec.line = item.info.lines - inner;
      onRecord(rec);
    }
  };
  try {
    // stream.pipeline, not .pipe(): an error of the source (an S3 read failing) reaches the caller.
    await pipeline(Readable.from(source), parser, consume);
  } catch (err) {
    // Only csv-parse's own verdict means "not CSV"; anything else (S3, a bug) is the caller's.
    if (err instanceof CsvError) throw new NotCsv(err.message);
    throw err;
  }
}

/**
 * Reads one CSV source: `fast` first (the TypeScript scanner unless another is given); if it
 * declines, `restart` is called and the whole source is read again with csv-parse. Returns which
 * parser produced the records.
 */
export async function readCsv(
  open: (reuse?: boolean) => AsyncIterable<Uint8Array>,
  onRecord: RecordHandler,
  restart: () => void,
  fast: { name: 'fast' | 'wasm'; read: () => Promise<void> } = { name: 'fast', read: () => scanFast(open, onRecord) },
): Promise<'fast' | 'wasm' | 'csv-parse'> {
  try {
    await fast.read();
    return fast.name;
  } catch (err) {
    if (!(err instanceof Declined)) throw err;
  }
  restart();
  await parseWithCsvParse(open(false), onRecord);
  return 'csv-parse';
}

async function scanFast(open: (reuse?: boolean) => AsyncIterable<Uint8Array>, onRecord: RecordHandler): Promise<void> {
  const scanner = new FastCsvScanner(onRecord);
  // The scanner is done with each chunk before asking for the next: the source may reuse it.
  for await (const chunk of open(true)) scanner.push(chunk);
  scanner.end();
}

/**
 * A local file's bytes in 1 MiB chunks, the next read already in flight while the caller works on
 * the current one. With `reuse`, two buffers alternate (a chunk stays valid until the next is asked
 * for); without, every chunk is a fresh buffer the caller may keep.
 */
export async function* readFileChunks(file: string, reuse = false): AsyncIterable<Uint8Array> {
  const size = 1 << 20;
  const fh = await open(file, 'r');
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let i = 0;
  let pending = fh.read(bufs[0], 0, size, null);
  try {
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (!bytesRead) return;
      i ^= 1;
      if (!reuse) bufs[i] = Buffer.allocUnsafe(size);
      pending = fh.read(bufs[i], 0, size, null);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await pending.catch(() => undefined);
    await fh.close();
  }
}

/**
 * The header's fields and those of the records starting on `lines` (as fieldsOf gives them), and
 * nothing else: a few rows of a large file cost one pass over it, not a string per field per row.
 */
export async function fieldsAtLines(
  open: (reuse?: boolean) => AsyncIterable<Uint8Array>,
  lines: ReadonlySet<number>,
): Promise<{ header: string[]; rows: Map<number, string[]> }> {
  let header: string[] | null = null;
  let rows = new Map<number, string[]>();
  await readCsv(
    open,
    (rec) => {
      if (header === null) header = fieldsOf(rec);
      else if (lines.has(rec.line)) rows.set(rec.line, fieldsOf(rec));
    },
    () => {
      header = null;
      rows = new Map();
    },
  );
  return { header: header ?? [], rows };
}

// ignoreBOM: a U+FEFF inside a value is part of it (SPEC); the default decoder would drop it.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** The record's fields as strings (for headers and rejected rows, never the hot path). */
export function fieldsOf(rec: CsvRecord): string[] {
  const out: string[] = [];
  for (let i = 0; i < rec.count; i++) out.push(decoder.decode(rec.buf.subarray(rec.starts[i], rec.ends[i])));
  return out;
}
