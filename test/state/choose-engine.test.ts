// The bulk path's engine by the history's size (KPI_HISTORY_ENGINE=auto, the default).
import test from 'ava';
import os from 'node:os';
import { availableMemory, chooseEngine, MEMORY_PATH_BYTES_PER_CSV_BYTE } from '../../runtime/state/transform';

const GiB = 2 ** 30;

test('auto: in memory while the estimate fits in half the memory, on the history engine past it', (t) => {
  const fits = Math.floor((1.5 * GiB) / MEMORY_PATH_BYTES_PER_CSV_BYTE);
  t.is(chooseEngine('auto', fits, 3 * GiB, 4 * GiB).engine, 'memory');
  t.is(chooseEngine('auto', fits + 1000, 3 * GiB, 4 * GiB).engine, 'duckdb');
  // 5M items are 823 MB of CSV (docs/performance.md): in memory on a 3 GB task, not on a 1 GB one
  t.is(chooseEngine('auto', 823e6, 3 * GiB, 4 * GiB).engine, 'memory');
  t.is(chooseEngine('auto', 823e6, 1 * GiB, 4 * GiB).engine, 'duckdb');
  t.is(chooseEngine('auto', 823e6, 3 * GiB).estimate, Math.round(823e6 * MEMORY_PATH_BYTES_PER_CSV_BYTE));
});

test('auto: the in-memory path also fits in three quarters of the heap limit (a capped heap)', (t) => {
  // a 3 GB task's transform caps its heap at 768 MiB: 5M items go to the engine there
  t.is(chooseEngine('auto', 823e6, 3 * GiB, 768 * 2 ** 20).engine, 'duckdb');
  const fits = Math.floor((576 * 2 ** 20) / MEMORY_PATH_BYTES_PER_CSV_BYTE);
  t.is(chooseEngine('auto', fits, 3 * GiB, 768 * 2 ** 20).engine, 'memory');
  t.is(chooseEngine('auto', fits + 1000, 3 * GiB, 768 * 2 ** 20).engine, 'duckdb');
});

test('an explicit engine is kept whatever the size', (t) => {
  t.is(chooseEngine('memory', 100 * GiB, 1 * GiB).engine, 'memory');
  t.is(chooseEngine('duckdb', 1000, 100 * GiB).engine, 'duckdb');
});

test('available memory: at most the machine, more than nothing', (t) => {
  const m = availableMemory();
  t.true(m > 0 && m <= os.totalmem());
});
