// Rejected rows as CSV: their original columns, then reason, source file and line.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { RejectedRow } from './join';

export function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The rejected rows of one file as CSV text (header: original header + reason, source_file, line). */
export function rejectsToCsv(rows: RejectedRow[]): string {
  if (!rows.length) return '';
  const header = [...rows[0].header, 'reason', 'source_file', 'line'];
  const lines = [header.map(csvCell).join(',')];
  for (const r of rows) lines.push([...r.fields, r.reason, r.file, String(r.line)].map(csvCell).join(','));
  return lines.join('\n') + '\n';
}

/** Rows from many files into one CSV: a generic header, the original row kept as one CSV cell. */
export function rejectsCsvFile(file: string): { write: (r: RejectedRow) => void; close: () => void } {
  const fd = openSync(file, 'w');
  writeSync(fd, 'entity,source_file,line,reason,row\n');
  return {
    write: (r) => writeSync(fd, [r.entity, r.file, String(r.line), r.reason, r.fields.map(csvCell).join(',')].map(csvCell).join(',') + '\n'),
    close: () => closeSync(fd),
  };
}
