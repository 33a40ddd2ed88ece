// The data-quality summary the transform records in state/quality.json and the dashboard shows.
import type { Reason } from '../parse/rules';

export interface Quality {
  /** when the transform last ran to the end */
  updated_at: string;
  /** archived file versions read */
  files: number;
  /** data rows in them */
  rows: number;
  /** rows valid and counted (or superseded by a later version of their key) */
  accepted: number;
  rejected_by_reason: Partial<Record<Reason, number>>;
  /** items waiting for their order or product */
  held: number;
  joined_items: number;
}
