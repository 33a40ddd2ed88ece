// The WASM kernel against the plain TypeScript reference, on random joined items.
import test from 'ava';
import fc from 'fast-check';
import { sortAggregates } from '../../runtime/core/aggregate/aggregates';
import { aggregateWasm, KernelOutOfMemory } from '../../runtime/core/aggregate/kernel';
import { aggregateReference } from '../../reference/aggregate';

interface Item {
  cat: number;
  day: number;
  order: number;
  user: number;
  cents: number;
  flags: number;
}

/** Items as the join emits them: ordered by (day, order), an order's day and user fixed. */
function columns(items: Item[]) {
  const sorted = [...items].sort((a, b) => a.day - b.day || a.order - b.order);
  const n = sorted.length;
  return {
    n,
    cat: Int32Array.from(sorted, (i) => i.cat),
    day: Int32Array.from(sorted, (i) => i.day),
    order: Int32Array.from(sorted, (i) => i.order),
    user: Int32Array.from(sorted, (i) => i.user),
    cents: Float64Array.from(sorted, (i) => i.cents),
    flags: Uint8Array.from(sorted, (i) => i.flags),
  };
}

const itemsArb = fc
  .array(fc.record({ cat: fc.nat(40), order: fc.nat(300), cents: fc.nat(10_000_000), ret: fc.boolean() }), {
    maxLength: 2000,
  })
  .chain((raw) =>
    fc.tuple(
      fc.constant(raw),
      fc.array(fc.tuple(fc.integer({ min: -400, max: 30000 }), fc.nat(120), fc.boolean()), {
        minLength: 301,
        maxLength: 301,
      }),
    ),
  )
  .map(([raw, orders]) =>
    raw.map((r) => ({
      cat: r.cat,
      order: r.order,
      day: orders[r.order][0],
      user: orders[r.order][1],
      cents: r.cents,
      flags: (r.ret ? 1 : 0) | (orders[r.order][2] ? 2 : 0),
    })),
  );

test('property: kernel equals the TypeScript reference (any chunk size)', (t) => {
  fc.assert(
    fc.property(itemsArb, fc.integer({ min: 1, max: 70 }), (items, chunk) => {
      const cols = columns(items);
      t.deepEqual(sortAggregates(aggregateWasm(cols, chunk, 'debug')), sortAggregates(aggregateReference(cols)));
    }),
    { numRuns: 200 },
  );
});

test('kernel sums cents exactly beyond 2^31 per group', (t) => {
  const items: Item[] = [];
  for (let i = 0; i < 1000; i++) items.push({ cat: 0, day: 1, order: i, user: i, cents: 99_999_999_999, flags: 0 });
  const a = aggregateWasm(columns(items), 64, 'debug');
  t.is(a.groups[0].cents, 99_999_999_999_000);
  t.is(a.days[0].orders, 1000);
});

test('no items: empty aggregates', (t) => {
  t.deepEqual(aggregateWasm(columns([]), undefined, 'debug'), { groups: [], days: [] });
});

test('a kernel that cannot fit in WebAssembly memory is a clear error, not an unreachable trap', (t) => {
  const huge = {
    n: 1,
    nCats: 1,
    nUsers: 2_000_000_000,
    days: 1,
    categories: undefined as never,
    forEachChunk: () => {},
  };
  t.throws(() => aggregateWasm(huge, 1024, 'debug'), {
    instanceOf: KernelOutOfMemory,
    message: /more than WebAssembly's 4 GiB/,
  });
});
