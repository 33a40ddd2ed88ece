// `kpi compute` by the other route: the TypeScript scanner and rules for every row, the joined items
// as whole arrays and the naive aggregation. The golden test holds the production path equal to it.
import { computeDir, type ComputeResult } from '../runtime/core/compute';
import { toKpis } from '../runtime/core/aggregate/kpis';
import { aggregateReference } from './aggregate';
import { materialize } from './materialize';

export async function computeReference(dir: string): Promise<ComputeResult> {
  const res = await computeDir(dir, { rowEngine: 'reference' });
  const agg = aggregateReference(materialize(res.tables.joinSource()));
  return { ...res, ...toKpis(agg, res.tables.categories) };
}
