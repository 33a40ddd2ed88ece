// The incremental transform against the real embedded servers: each case SPEC defines stays exact
// (tables = kpi compute of the same files in upload order; lake = tables by DuckDB SQL), a file
// changes only the days it touches, and races and kills converge.
import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { computeDir } from '../../runtime/core/compute';
import { StateStore } from '../../runtime/state/statestore';
import { BulkSuperseded } from '../../runtime/state/bulk';
import { bulkApply } from '../../runtime/state/transform';
import { listArchive, markAll } from '../../runtime/state/pending';
import { verify } from '../../runtime/stages/verify';
import { CURATED_PREFIX } from '../../runtime/core/names';
import type { LocalStack } from '../../runtime/local/stack';
import type { Pipeline } from '../../runtime/stages/pipeline';
import { downloadLake, kpisFromLake } from '../lake';
import { nextSecond, quietPipeline, tables, withStack } from '../stack';

interface Upload {
  entity: 'orders' | 'order_items' | 'products';
  name: string;
  csv: string;
}

/**
 * A scenario: uploads in order (each in its own second: S3's LastModified resolution), and the kpi
 * compute folder for them.
 */
class Scenario {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'kpi-incr-'));
  private n = 0;
  constructor(
    readonly s: LocalStack,
    readonly p: Pipeline,
  ) {}

  /** Each file in a later second than the one before. */
  async upload(...ups: Upload[]): Promise<void> {
    for (const u of ups) {
      await nextSecond();
      await this.put(u);
    }
  }

  /** In one second: only for files that share no key (their order then does not matter). */
  async uploadTogether(...ups: Upload[]): Promise<void> {
    await nextSecond();
    for (const u of ups) await this.put(u);
  }

  private async put(u: Upload): Promise<void> {
    {
      await this.p.bucket.put(`ecommerce-data/${u.entity}/${u.name}`, u.csv);
      mkdirSync(path.join(this.dir, u.entity), { recursive: true });
      writeFileSync(path.join(this.dir, u.entity, `${String(this.n++).padStart(4, '0')}_${u.name}`), u.csv);
    }
  }

  async process() {
    return (await this.p.process()).transform;
  }

  /** Tables = kpi compute of the uploads; the lake, read by DuckDB, = the tables. */
  async expectExact(t: import('ava').ExecutionContext): Promise<void> {
    const want = await computeDir(this.dir, { unknownMode: 'hold' });
    const got = await tables(this.s);
    t.deepEqual(got.category_kpis, want.category_kpis);
    t.deepEqual(got.order_kpis, want.order_kpis);
    t.deepEqual(await kpisFromLake(await downloadLake(this.p.bucket)), got);
  }
}

/** These cases test the incremental path: the bulk path (pending ≥ applied bytes) is turned off. */
const INCREMENTAL = { bulkFactor: Infinity };

const PRODUCTS = 'id,category\np1,Jeans\np2,Tops\np3,Shoes\n';
const ORDERS =
  'order_id,user_id,status,created_at\no1,u1,Complete,2025-03-01T10:00:00\no2,u2,Returned,2025-03-02T11:00:00\no3,u3,Complete,2025-03-03T09:00:00\n';
const ITEMS = 'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\ni2,o1,p2,5.50\ni3,o2,p1,20.00\ni4,o3,p3,7.25\n';

async function lakeDays(p: Pipeline): Promise<string[]> {
  return [...new Set((await p.bucket.list(CURATED_PREFIX)).map((o) => /order_date=([^/]+)/.exec(o.key)![1]!))].sort();
}

test('a later order version moves its items to another day: only the two days are recomputed', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s, {}, INCREMENTAL);
    const sc = new Scenario(s, pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
      { entity: 'order_items', name: 'i.csv', csv: ITEMS },
    );
    await sc.process();
    await sc.upload({
      entity: 'orders',
      name: 'o2.csv',
      csv: 'order_id,user_id,status,created_at\no1,u9,Returned,2025-03-05T10:00:00\n',
    });
    const r = await sc.process();
    t.deepEqual(r.changedDates, ['2025-03-01', '2025-03-05']);
    t.deepEqual(await lakeDays(pipeline), ['2025-03-02', '2025-03-03', '2025-03-05']);
    await sc.expectExact(t);
  });
});

test('a later item version moves it to another order (and day) and changes its price', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s, {}, INCREMENTAL);
    const sc = new Scenario(s, pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
      { entity: 'order_items', name: 'i.csv', csv: ITEMS },
    );
    await sc.process();
    await sc.upload({
      entity: 'order_items',
      name: 'i2.csv',
      csv: 'id,order_id,product_id,sale_price\ni2,o3,p2,6.00\n',
    });
    const r = await sc.process();
    t.deepEqual(r.changedDates, ['2025-03-01', '2025-03-03']);
    await sc.expectExact(t);
  });
});

test('a product category change recomputes only the days holding its items; an unchanged catalogue re-upload recomputes nothing', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s, {}, INCREMENTAL);
    const sc = new Scenario(s, pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
      { entity: 'order_items', name: 'i.csv', csv: ITEMS },
    );
    await sc.process();
    await sc.upload({ entity: 'products', name: 'p.csv', csv: 'id,category\np1,Denim\np2,Tops\np3,Shoes\n' });
    const r = await sc.process();
    t.deepEqual(r.changedDates, ['2025-03-01', '2025-03-02']); // p1's items; 03-03 holds only p3
    await sc.expectExact(t);
    await sc.upload({
      entity: 'products',
      name: 'p.csv',
      csv: 'id,category,brand\np1,Denim,X\np2,Tops,Y\np3,Shoes,Z\n',
    });
    const again = await sc.process();
    t.deepEqual(again.changedDates, []);
    t.is(again.lakeFilesWritten, 0);
    t.is(again.puts + again.deletes, 0);
    await sc.expectExact(t);
  });
});

test('an item held for its order is reported after the wait, and counted when the order arrives much later', async (t) => {
  await withStack(async (s) => {
    let clock = Date.now();
    const { pipeline } = quietPipeline(s, { holdSeconds: 3600 }, INCREMENTAL);
    const ctx = pipeline.transformContext();
    const run = async () => (await import('../../runtime/state/transform')).transform({ ...ctx, now: () => clock });
    const sc = new Scenario(s, pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
    );
    await sc.upload({ entity: 'order_items', name: 'i.csv', csv: ITEMS + 'i9,o9,p2,99.99\n' });
    await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    let r = await run();
    t.is(r.held, 1);
    t.is(r.expired, 0);
    clock += 2 * 3600_000; // two hours later: past the hold time
    r = await run();
    t.is(r.expired, 1);
    const unmatched = await pipeline.bucket.list('err/unmatched/');
    t.is(unmatched.length, 1);
    t.regex((await pipeline.bucket.readText(unmatched[0]!.key))!, /i9,o9,p2,99\.99,unknown_order/);
    await sc.upload({
      entity: 'orders',
      name: 'late.csv',
      csv: 'order_id,user_id,status,created_at\no9,u9,Complete,2025-03-09T10:00:00\n',
    });
    r = await sc.process();
    t.is(r.held, 0);
    t.deepEqual(r.changedDates, ['2025-03-09']);
    await sc.expectExact(t);
  });
});

test('an item waiting for both its order and its product counts once both have come, in either order', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s, {}, INCREMENTAL);
    const sc = new Scenario(s, pipeline);
    await sc.upload({ entity: 'order_items', name: 'i.csv', csv: ITEMS });
    t.is((await sc.process()).held, 4);
    await sc.upload({ entity: 'orders', name: 'o.csv', csv: ORDERS });
    t.is((await sc.process()).held, 4); // orders known, products not yet
    await sc.upload({ entity: 'products', name: 'p.csv', csv: PRODUCTS });
    const r = await sc.process();
    t.is(r.held, 0);
    t.is(r.items, 4);
    await sc.expectExact(t);
  });
});

test('two transforms racing on the same day converge: one waits for the lease, nothing is lost', async (t) => {
  await withStack(async (s) => {
    const a = quietPipeline(s, {}, INCREMENTAL);
    const b = quietPipeline(s, {}, INCREMENTAL);
    const sc = new Scenario(s, a.pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
    );
    await sc.upload({
      entity: 'order_items',
      name: 'i1.csv',
      csv: 'id,order_id,product_id,sale_price\ni1,o1,p1,10.00\n',
    });
    await sc.upload({
      entity: 'order_items',
      name: 'i2.csv',
      csv: 'id,order_id,product_id,sale_price\ni2,o1,p2,5.50\n',
    });
    const keys = (await a.pipeline.bucket.list('ecommerce-data/')).map((o) => o.key);
    await a.pipeline.validate(keys);
    const [ra, rb] = await Promise.all([a.pipeline.transform(), b.pipeline.transform()]);
    t.is(ra.files + rb.files, 4);
    t.true([...a.logs, ...b.logs].some((l) => l.event === 'transform_waiting'));
    await sc.expectExact(t);
    // two runs of one pipeline (one lease owner id) take turns too
    await sc.upload({
      entity: 'order_items',
      name: 'i3.csv',
      csv: 'id,order_id,product_id,sale_price\ni1,o1,p3,12.00\ni3,o1,p1,1.00\n',
    });
    await a.pipeline.validate((await a.pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    const [r1, r2] = await Promise.all([a.pipeline.transform(), a.pipeline.transform()]);
    t.is(r1.files + r2.files, 1);
    await sc.expectExact(t);
  });
});

test('a run killed after writing its data but before committing leaves no trace once the next run is done', async (t) => {
  await withStack(async (s) => {
    const killed = quietPipeline(
      s,
      {},
      {
        hooks: {
          beforeCommit: () => {
            throw new Error('killed');
          },
        },
      },
    );
    const sc = new Scenario(s, killed.pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
      { entity: 'order_items', name: 'i.csv', csv: ITEMS },
    );
    await t.throwsAsync(killed.pipeline.process(), { message: 'killed' });
    t.true((await killed.pipeline.bucket.list(CURATED_PREFIX)).length > 0); // its lake files were written
    t.deepEqual((await tables(s)).order_kpis, []); // and nothing was committed
    const { pipeline } = quietPipeline(s, {}, INCREMENTAL);
    await pipeline.transform();
    await sc.expectExact(t);
  });
});

test('a run killed after its commit, before writing the KPI rows: the next run finishes its work', async (t) => {
  await withStack(async (s) => {
    const killed = quietPipeline(
      s,
      {},
      {
        hooks: {
          afterCommit: () => {
            throw new Error('killed');
          },
        },
      },
    );
    const sc = new Scenario(s, killed.pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
      { entity: 'order_items', name: 'i.csv', csv: ITEMS },
    );
    await t.throwsAsync(killed.pipeline.process(), { message: 'killed' });
    t.deepEqual((await tables(s)).order_kpis, []);
    const { pipeline } = quietPipeline(s, {}, INCREMENTAL);
    const r = await pipeline.transform();
    t.is(r.files, 0); // already applied: finished, not applied again
    await sc.expectExact(t);
  });
});

test('a transform that died holding the lease blocks others only until the lease expires', async (t) => {
  await withStack(async (s) => {
    const { pipeline, logs } = quietPipeline(s, {}, INCREMENTAL);
    const sc = new Scenario(s, pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
      { entity: 'order_items', name: 'i.csv', csv: ITEMS },
    );
    await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    const dead = new StateStore(s.clients.ddb, 'kpi_state_table', { leaseMs: 3000 });
    const expiresNoSoonerThan = Date.now() + 3000;
    await dead.acquire();
    dead.abandon(); // it dies: no renewal, no release
    await pipeline.transform();
    t.true(Date.now() >= expiresNoSoonerThan); // it could run only once the dead lease had expired
    t.true(logs.some((l) => l.event === 'transform_waiting'));
    await sc.expectExact(t);
    // and the dead run can no longer commit anything
    await t.throwsAsync(dead.commit(1, { stale: true }), { message: /lease was lost|committed first/ });
  });
});

test('a new day costs the same with a longer history: one day recomputed, the same look-ups', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s, {}, INCREMENTAL);
    const sc = new Scenario(s, pipeline);
    const day = (d: number, base: number) => {
      const date = `2025-04-${String(d).padStart(2, '0')}`;
      let o = 'order_id,user_id,status,created_at\n';
      let i = 'id,order_id,product_id,sale_price\n';
      for (let k = 0; k < 20; k++) {
        o += `${base + k},u${k},Complete,${date}T10:00:00\n`;
        i += `${base + k},${base + k},p${(k % 3) + 1},${k + 1}.25\n`;
      }
      return [
        { entity: 'orders' as const, name: `o${d}.csv`, csv: o },
        { entity: 'order_items' as const, name: `i${d}.csv`, csv: i },
      ];
    };
    await sc.uploadTogether({ entity: 'products', name: 'p.csv', csv: PRODUCTS }, ...day(1, 1000));
    await sc.process();
    await sc.uploadTogether(...day(2, 2000));
    const short = await sc.process();
    for (let d = 3; d <= 12; d++) await sc.uploadTogether(...day(d, d * 1000));
    await sc.process();
    await sc.uploadTogether(...day(13, 13000));
    const long = await sc.process();
    t.deepEqual(short.changedDates, ['2025-04-02']);
    t.deepEqual(long.changedDates, ['2025-04-13']);
    t.is(long.lookups, short.lookups);
    t.is(long.lakeFilesWritten, 1);
    await sc.expectExact(t);
  });
});

test('a bulk recompute that finds more files pending stops before writing anything, and the next one applies them all', async (t) => {
  await withStack(async (s) => {
    const { pipeline, logs } = quietPipeline(s);
    const sc = new Scenario(s, pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
    );
    await pipeline.validate((await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key));
    const versions = await listArchive(pipeline.bucket);
    for (const engine of ['memory', 'duckdb'] as const)
      await t.throwsAsync(
        bulkApply(pipeline.bucket, versions, async () => true, false, engine),
        {
          instanceOf: BulkSuperseded,
        },
      );
    t.deepEqual(await pipeline.bucket.list(CURATED_PREFIX), []); // nothing written
    // through the transform: items validated while it recomputes; it starts again with them
    await pipeline.transform();
    await sc.upload({
      entity: 'orders',
      name: 'o2.csv',
      csv: 'order_id,user_id,status,created_at\no7,u7,Complete,2025-03-07T10:00:00\n',
    });
    await sc.upload({ entity: 'order_items', name: 'i.csv', csv: ITEMS + 'i7,o7,p2,3.00\n' });
    await pipeline.validate(['ecommerce-data/orders/o2.csv']);
    let added = false;
    const list = pipeline.bucket.list.bind(pipeline.bucket);
    pipeline.bucket.list = async (prefix: string) => {
      const r = await list(prefix);
      if (prefix === 'state/pending/' && !added) {
        added = true;
        await pipeline.validate(['ecommerce-data/order_items/i.csv']); // validated meanwhile
      }
      return r;
    };
    await pipeline.transform();
    t.true(logs.some((l) => l.event === 'bulk_restarted'));
    await sc.expectExact(t);
  });
});

test('kpi verify checks the committed state only (a file still pending is not a difference); a rebuild killed after marking every file is finished by the next transform', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s, {}, INCREMENTAL);
    const sc = new Scenario(s, pipeline);
    await sc.upload(
      { entity: 'products', name: 'p.csv', csv: PRODUCTS },
      { entity: 'orders', name: 'o.csv', csv: ORDERS },
      { entity: 'order_items', name: 'i.csv', csv: ITEMS },
    );
    await sc.process();
    await sc.upload({
      entity: 'order_items',
      name: 'i2.csv',
      csv: 'id,order_id,product_id,sale_price\ni9,o3,p1,4.00\n',
    });
    await pipeline.validate(['ecommerce-data/order_items/i2.csv']); // archived, not applied yet
    t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
    // kpi rebuild's first half (every file marked), then killed: the tables and the lake are untouched
    const before = await tables(s);
    const lake = await pipeline.bucket.list(CURATED_PREFIX);
    await markAll(pipeline.bucket);
    t.deepEqual(await tables(s), before);
    t.deepEqual(await pipeline.bucket.list(CURATED_PREFIX), lake);
    const r = await pipeline.transform(); // any later run: the three applied files are recognised
    t.is(r.files, 1);
    await sc.expectExact(t);
    t.true((await verify(pipeline.bucket, pipeline.store, pipeline.state)).ok);
  });
});
