// Rejected rows as CSV: their original columns, then reason, source file and line. Pure.
import type { RejectedRow } from '../join/join';

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
