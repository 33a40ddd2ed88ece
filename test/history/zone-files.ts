// A local folder of CSVs (kpi compute's input) as validated-zone files: each file's valid versions
// as validate writes them, ranked in kpi compute's version order (entity, then file name).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { listLocalSources } from '../../runtime/core/compute';
import { readVersions } from '../../runtime/core/parse/versions';
import { encodeValidated } from '../../runtime/core/formats/validated';
import type { ZoneFiles } from '../../runtime/history/duckdb';

export async function zoneOf(dir: string, out: string): Promise<ZoneFiles> {
  const zone: ZoneFiles = { orders: [], products: [], order_items: [] };
  const sources = listLocalSources(dir);
  for (const [i, s] of sources.entries()) {
    const v = await readVersions(s.entity, s.name, s.open);
    if (v.status === 'rejected') continue;
    const rank = `${String(i).padStart(13, '0')}\u0000${s.name}`;
    const file = path.join(out, `${i}.parquet`);
    writeFileSync(file, await encodeValidated(v, rank, `archive/${s.name}/${String(i).padStart(13, '0')}.csv`));
    zone[s.entity].push(file);
  }
  return zone;
}
