// kpi compute --rejected FILE: every rejected row of every file, appended to one CSV file.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { RejectedRow } from '../core/join/join';
import { csvCell } from '../core/formats/rejects';

/** Rows from many files into one CSV: a generic header, the original row kept as one CSV cell. */
export function rejectsCsvFile(file: string): { write: (r: RejectedRow) => void; close: () => void } {
  const fd = openSync(file, 'w');
  writeSync(fd, 'entity,source_file,line,reason,row\n');
  return {
    write: (r) =>
      writeSync(
        fd,
        [r.entity, r.file, String(r.line), r.reason, r.fields.map(csvCell).join(',')].map(csvCell).join(',') + '\n',
      ),
    close: () => closeSync(fd),
  };
}
