// The commit point of the incremental transform: one DynamoDB item (the "manifest") in the state
// table. It names the current state (the index runs, the counters) and carries a lease: only the
// run holding the lease may commit, and a commit is a conditional write on (holder, version), so a
// run that lost its lease (paused, partitioned) can never overwrite a newer state.
import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { MissingTable } from '../aws/kpistore';
import { STATE_TABLE } from '../core/names';
const MANIFEST = 'manifest';

export interface Manifest<B> {
  version: number;
  body: B | null;
}

/** Another run holds the lease and did not release it in time. */
export class LeaseBusy extends Error {}
/** This run's lease expired or was taken over: it must stop without committing. */
export class LeaseLost extends Error {}
/**
 * A live holder has the lease and was asked to run once more before it lets go (the manifest's
 * `rerun` flag): whatever this run was started for, the holder does. Not an error for the caller.
 */
export class Coalesced extends Error {}

const isConditionFailed = (err: unknown) => (err as { name?: string })?.name === 'ConditionalCheckFailedException';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StateStoreOptions {
  leaseMs?: number;
  /** how long acquire() waits for another holder before giving up */
  waitMs?: number;
  now?: () => number;
}

export class StateStore {
  readonly owner = randomUUID();
  readonly leaseMs: number;
  private readonly waitMs: number;
  private readonly now: () => number;
  private renewTimer: NodeJS.Timeout | undefined;
  private lost: unknown = null;
  // Runs sharing this store (one process) take turns: the owner id is the store's, so DynamoDB
  // alone could not tell them apart.
  private turn: Promise<void> = Promise.resolve();
  private endTurn: (() => void) | null = null;

  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    readonly table: string,
    opts: StateStoreOptions = {},
  ) {
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.waitMs = opts.waitMs ?? 15 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  static async ensureTable(raw: DynamoDBClient, table: string): Promise<boolean> {
    try {
      await raw.send(new DescribeTableCommand({ TableName: table }));
      return false;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
    }
    await raw.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: STATE_TABLE.hashKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: STATE_TABLE.hashKey, KeyType: 'HASH' }],
      }),
    );
    return true;
  }

  private async send<T>(cmd: GetCommand | UpdateCommand): Promise<T> {
    try {
      return (await this.ddb.send(cmd as never)) as T;
    } catch (err) {
      if ((err as { name?: string })?.name === 'ResourceNotFoundException') throw new MissingTable(this.table);
      throw err;
    }
  }

  /**
   * One conditional UpdateItem on the manifest. The attribute names used in the expressions:
   * #o owner, #e expires, #v version, #b body, #r rerun, #k last_write; :me is this store's owner id.
   */
  private update(set: string, condition: string, values: Record<string, unknown> = {}): Promise<unknown> {
    const names: Record<string, string> = {};
    for (const [k, v] of [
      ['#o', 'owner'],
      ['#e', 'expires'],
      ['#v', 'version'],
      ['#b', 'body'],
      ['#r', 'rerun'],
      ['#k', 'last_write'],
    ] as const)
      if (set.includes(k) || condition.includes(k)) names[k] = v;
    return this.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: MANIFEST },
        UpdateExpression: set,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ':me': this.owner, ...values },
      }),
    );
  }

  /**
   * A write that is not idempotent (commit, release) stamps a fresh token in last_write. When its
   * answer is lost after DynamoDB applied it (a dropped connection), the SDK retries and the retry
   * fails its condition on the run's own write; the token tells that apart from a lost race.
   * `set` must contain `#k = :tok`.
   */
  private async stamped(set: string, condition: string, values: Record<string, unknown> = {}): Promise<boolean> {
    const token = randomUUID();
    try {
      await this.update(set, condition, { ...values, ':tok': token });
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const r = await this.send<{ Item?: { last_write?: string } }>(
        new GetCommand({ TableName: this.table, Key: { pk: MANIFEST }, ConsistentRead: true }),
      );
      return r.Item?.last_write === token;
    }
  }

  /** The committed manifest (version 0 and no body before the first commit). */
  async read<B>(): Promise<Manifest<B>> {
    const r = await this.send<{ Item?: { version?: number; body?: string } }>(
      new GetCommand({ TableName: this.table, Key: { pk: MANIFEST }, ConsistentRead: true }),
    );
    return { version: r.Item?.version ?? 0, body: r.Item?.body ? (JSON.parse(r.Item.body) as B) : null };
  }

  /**
   * Takes the lease (waiting while another live run holds it), keeps it renewed until release(),
   * and returns the committed manifest as of the moment the lease was taken.
   */
  async acquire<B>(onWait?: (holder: string) => void, opts: { coalesce?: boolean } = {}): Promise<Manifest<B>> {
    const before = this.turn;
    let end!: () => void;
    this.turn = new Promise<void>((r) => (end = r));
    await before;
    this.endTurn = end;
    try {
      return await this.take<B>(onWait, opts.coalesce ?? false);
    } catch (err) {
      this.endTurn = null;
      end();
      throw err;
    }
  }

  private async take<B>(onWait: ((holder: string) => void) | undefined, coalesce: boolean): Promise<Manifest<B>> {
    const giveUp = this.now() + this.waitMs;
    let delay = 50;
    for (;;) {
      const now = this.now();
      try {
        await this.update('SET #o = :me, #e = :exp', 'attribute_not_exists(#o) OR #e < :now OR #o = :me', {
          ':exp': now + this.leaseMs,
          ':now': now,
        });
        break;
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        if (coalesce && (await this.askRerun(now)))
          throw new Coalesced('another transform holds the lease and will run once more');
        if (this.now() > giveUp)
          throw new LeaseBusy(
            `the state lease is held by another transform for over ${Math.round(this.waitMs / 1000)} s`,
          );
        onWait?.('another transform');
        await sleep(delay + Math.random() * delay);
        delay = Math.min(delay * 2, 1000);
      }
    }
    this.lost = null;
    this.renewTimer = setInterval(
      () => void this.renew().catch((err) => (this.lost = err)),
      Math.max(10, Math.floor(this.leaseMs / 3)),
    );
    this.renewTimer.unref();
    return this.read<B>();
  }

  /**
   * Sets the rerun flag iff another run holds a live lease. The holder checks the flag when it is
   * about to let go (releaseUnlessRerun), after its last look at the pending files: so whatever was
   * pending before this write is seen by the holder's next look. False: the lease is free or expired.
   */
  private async askRerun(now: number): Promise<boolean> {
    try {
      await this.update('SET #r = :yes', 'attribute_exists(#o) AND #o <> :me AND #e >= :now', {
        ':yes': true,
        ':now': now,
      });
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /**
   * Lets go of the lease unless a rerun was asked for meanwhile. True: released. False: the flag is
   * cleared and the lease still held: the caller looks at its work once more, then calls this again.
   */
  async releaseUnlessRerun(): Promise<boolean> {
    if (!(await this.stamped('SET #k = :tok REMOVE #o, #e', '#o = :me AND attribute_not_exists(#r)'))) {
      try {
        await this.update('REMOVE #r', '#o = :me');
      } catch (e) {
        throw isConditionFailed(e) ? new LeaseLost('the state lease was lost before the run ended') : e;
      }
      return false;
    }
    this.stopHolding()?.();
    return true;
  }

  /** Stops renewing and hands back the end of this run's turn (null when it has none any more). */
  private stopHolding(): (() => void) | null {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    const end = this.endTurn;
    this.endTurn = null;
    return end;
  }

  /** Renews the lease now and fails if it is no longer this run's: checked before deleting anything. */
  async assertHeld(): Promise<void> {
    this.check();
    await this.renew();
  }

  private async renew(): Promise<void> {
    const now = this.now();
    try {
      await this.update('SET #e = :exp', '#o = :me', { ':exp': now + this.leaseMs });
    } catch (err) {
      throw isConditionFailed(err) ? new LeaseLost('the state lease was taken over by another transform') : err;
    }
  }

  /** Throws if the lease was lost since it was taken (checked before each costly step). */
  check(): void {
    if (this.lost)
      throw this.lost instanceof LeaseLost
        ? this.lost
        : new LeaseLost(`renewing the state lease failed: ${(this.lost as Error)?.message}`);
  }

  /**
   * The atomic commit: the new body becomes the state iff this run holds the lease and nobody
   * committed since `from`. The new version is from + 1, or above `floor` for a first commit.
   */
  async commit<B>(from: number, body: B, floor = 0): Promise<number> {
    this.check();
    const next = from === 0 ? Math.max(1, floor + 1) : from + 1;
    const applied = await this.stamped(
      'SET #v = :next, #b = :body, #k = :tok',
      from === 0 ? '#o = :me AND attribute_not_exists(#v)' : '#o = :me AND #v = :from',
      {
        ':next': next,
        ':body': JSON.stringify(body),
        ...(from === 0 ? {} : { ':from': from }),
      },
    );
    if (!applied) throw new LeaseLost('commit refused: the lease was lost or another run committed first');
    return next;
  }

  /** Test hook: stop renewing, as a run that died would (the lease then expires on its own). */
  abandon(): void {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  async release(): Promise<void> {
    const end = this.stopHolding();
    if (!end) return; // released already (releaseUnlessRerun)
    try {
      await this.update('REMOVE #o, #e', '#o = :me');
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    } finally {
      end();
    }
  }
}
