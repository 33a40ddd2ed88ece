// The manifest's conditional writes when the answer is lost after DynamoDB applied the write: the
// SDK retries, and the retry must not read the run's own write as "somebody else committed".
import test from 'ava';
import { StateStore } from '../../runtime/state/statestore';
import { makeClients } from '../../runtime/aws/clients';
import { faultProxy } from '../faultproxy';
import { withStack } from '../stack';

async function storeBehindProxy(endpoint: string, pick: (body: string) => boolean) {
  let dropped = 0;
  const proxy = await faultProxy(endpoint, 1, 0, (target, body) => {
    if (dropped > 0 || target !== 'DynamoDB_20120810.UpdateItem' || !pick(body)) return false;
    dropped++;
    return true;
  });
  const clients = makeClients({ region: 'us-east-1' }, { dynamodb: proxy.endpoint, local: true });
  await StateStore.ensureTable(clients.raw, 'state');
  return { proxy, store: new StateStore(clients.ddb, 'state', { leaseMs: 5000 }), dropped: () => dropped };
}

test('regression: a commit applied whose answer was dropped is this run’s commit, not a lost lease', async (t) => {
  await withStack(async (s) => {
    const { proxy, store, dropped } = await storeBehindProxy(s.endpoint, (b) => b.includes('"body"'));
    try {
      const m = await store.acquire<{ n: number }>();
      t.is(await store.commit(m.version, { n: 1 }), 1);
      t.is(dropped(), 1);
      t.is(await store.commit(1, { n: 2 }), 2);
      t.deepEqual(await store.read(), { version: 2, body: { n: 2 } });
      // a run that really lost the race is still refused
      const other = new StateStore(store['ddb'], 'state', { leaseMs: 5000 });
      await t.throwsAsync(other.commit(2, { n: 9 }), { message: /commit refused/ });
      await store.release();
    } finally {
      await proxy.close();
    }
  });
});

test('regression: a release applied whose answer was dropped is a release, not a lost lease', async (t) => {
  await withStack(async (s) => {
    const { proxy, store, dropped } = await storeBehindProxy(
      s.endpoint,
      (b) => b.startsWith('{') && b.includes('REMOVE #o, #e'),
    );
    try {
      await store.acquire();
      t.true(await store.releaseUnlessRerun());
      t.is(dropped(), 1);
      // the lease is free: another store takes it at once
      const other = new StateStore(store['ddb'], 'state', { leaseMs: 5000, waitMs: 1000 });
      await other.acquire();
      await other.release();
    } finally {
      await proxy.close();
    }
  });
});
