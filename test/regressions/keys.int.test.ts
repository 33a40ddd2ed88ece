// Regressions of odd keys (issue 8, items 5, 6, 9): non-ASCII names, dot segments, long keys.
import test from 'ava';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { decodeKeyPath, encodeKeyPath } from '../../runtime/local/store';
import {
  archiveKey,
  errFileKey,
  errUnroutedKey,
  MAX_KEY_BYTES,
  parseArchive,
  parseLanding,
  unmatchedKey,
} from '../../runtime/core/layout';
import { ORDERS, PRODUCTS } from '../helpers';
import { quietPipeline, withStack } from '../stack';

test('a non-ASCII file name is processed and archived with its key in the metadata', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    const key = 'ecommerce-data/orders/ünïcødé-日本.csv';
    await pipeline.bucket.put(key, ORDERS);
    const b = await pipeline.process();
    t.deepEqual(
      b.validated.map((v) => [v.key, v.status]),
      [[key, 'archived']],
    );
    const archived = (await pipeline.bucket.list('archive/')).map((o) => o.key);
    t.deepEqual(
      archived.map((k) => parseArchive(k)?.name),
      ['ünïcødé-日本.csv'],
    );
    const head = await pipeline.bucket.head(archived[0]);
    t.is(decodeURIComponent(head!.metadata!['landing-key']), key);
  });
});

test('keys with ".", ".." or empty segments go to err/files/unrouted/ with a note, never to archive/', async (t) => {
  await withStack(async (s) => {
    const { pipeline } = quietPipeline(s);
    const keys = [
      'ecommerce-data/orders/../products/trav2.csv',
      'ecommerce-data/orders/../../archive/trav.csv',
      'ecommerce-data/orders//x.csv',
      'ecommerce-data/orders/./y.csv',
    ];
    for (const k of keys) t.is(parseLanding(k), null, k);
    await pipeline.bucket.put('ecommerce-data/products/trav2.csv', PRODUCTS); // the key ".." would alias on a naive store
    for (const k of keys) await pipeline.bucket.put(k, PRODUCTS);
    // The local store keeps keys literal: listing gives back exactly what was put.
    t.deepEqual(
      (await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key).sort(),
      [...keys, 'ecommerce-data/products/trav2.csv'].sort(),
    );
    const b = await pipeline.process(keys);
    t.deepEqual(
      b.validated.map((v) => v.status),
      keys.map(() => 'unrouted'),
    );
    const all = (await pipeline.bucket.list('')).map((o) => o.key);
    t.deepEqual(
      all.filter((k) => k.startsWith('archive/')),
      [],
    );
    const notes = all.filter((k) => k.startsWith('err/files/unrouted/') && k.endsWith('.note.txt'));
    t.is(notes.length, keys.length);
    t.true(notes.every((k) => !k.split('/').some((seg) => seg === '..' || seg === '.' || seg === '')));
    // the real products file under the aliased name is untouched, still waiting in the landing zone
    t.deepEqual(
      (await pipeline.bucket.list('ecommerce-data/')).map((o) => o.key),
      ['ecommerce-data/products/trav2.csv'],
    );
  });
});

test('local store key encoding round-trips and keeps dot segments apart', (t) => {
  for (const k of ['a/../b', 'a//b', 'a/./b', 'x&y/..', 'plain/key.csv', 'ecommerce-data/', '&00/&2e'])
    t.is(decodeKeyPath(encodeKeyPath(k)), k, k);
  t.not(encodeKeyPath('a/../b'), 'a/../b');
});

test('a landing key of any valid length has archive and err/ keys within 1,024 bytes', (t) => {
  const name = 'é'.repeat(490) + '.csv'; // ecommerce-data/order_items/ + 984 bytes = 1,011 bytes
  const l = parseLanding(`ecommerce-data/order_items/${name}`)!;
  t.truthy(l);
  for (const k of [
    archiveKey(l, 1740823200000),
    errFileKey(l, 1740823200000),
    unmatchedKey(l, 1740823200000),
    errUnroutedKey(`ecommerce-data/x/${name}`, 1),
  ]) {
    t.true(Buffer.byteLength(k) <= MAX_KEY_BYTES, `${Buffer.byteLength(k)} bytes`);
  }
  t.is(parseArchive(archiveKey(l, 5))?.millis, 5);
});

test('a key too long for the local file store is refused with an S3 error, and the stack keeps serving', async (t) => {
  await withStack(async (s) => {
    const key = `ecommerce-data/orders/${'L'.repeat(240)}.csv`;
    const err = await t.throwsAsync(
      s.clients.s3.send(new PutObjectCommand({ Bucket: s.bucket, Key: key, Body: ORDERS })),
      { message: /key segment/ },
    );
    t.is((err as { name?: string }).name, 'KeyTooLongError');
    const { pipeline } = quietPipeline(s);
    await pipeline.bucket.put('ecommerce-data/orders/ok.csv', ORDERS);
    t.is((await pipeline.process()).validated[0].status, 'archived');
  });
});
