// Groups of lines kept on disk: records arriving in one order (a key index scan) and needed in
// another (by source file) are appended to a temp file per group, so memory holds a few MB of
// buffered lines and then one group at a time, however many records there are.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Buffered bytes (UTF-16 units, roughly) past which every group's lines go to disk. */
const FLUSH_AT = 4 << 20;

export class LineGroups {
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-groups-'));
  private readonly groups = new Map<string, { file: string; lines: string[] }>();
  private buffered = 0;

  /** Adds one line (no newline in it: JSON) to the group. */
  add(group: string, line: string): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { file: path.join(this.dir, String(this.groups.size)), lines: [] }));
    g.lines.push(line);
    this.buffered += line.length + 1;
    if (this.buffered >= FLUSH_AT) this.flush();
  }

  /** The groups, in the order they were first seen. */
  names(): string[] {
    return [...this.groups.keys()];
  }

  /** A group's lines, in the order they were added. */
  read(group: string): string[] {
    const g = this.groups.get(group);
    if (!g) return [];
    this.flushOne(g);
    const text = readFileSync(g.file, 'utf8');
    return text ? text.slice(0, -1).split('\n') : [];
  }

  /** Removes the temp files. */
  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private flush(): void {
    for (const g of this.groups.values()) this.flushOne(g);
    this.buffered = 0;
  }

  private flushOne(g: { file: string; lines: string[] }): void {
    appendFileSync(g.file, g.lines.length ? g.lines.join('\n') + '\n' : '');
    for (const l of g.lines) this.buffered -= l.length + 1;
    g.lines = [];
  }
}
