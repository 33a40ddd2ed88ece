// The local stand-in for EventBridge and the schedule rule: S3 server events queue objects, one
// loop validates and transforms them in batches, and reconciles on an interval.
import { LANDING_PREFIX } from '../core/names';
import type { BatchResult, Pipeline } from '../stages/pipeline';

/** How long a batch keeps validating files queued after it started before it transforms. */
const DRAIN_MS = 120_000;

/**
 * Local stand-in for EventBridge: object-created events are queued; a single worker validates
 * everything queued (and what arrives meanwhile, for up to DRAIN_MS), then transforms once, and
 * repeats while events keep coming.
 */
export class Dispatcher {
  private readonly pending = new Set<string>();
  private running: Promise<void> | null = null;
  readonly batches: BatchResult[] = [];
  readonly errors: Error[] = [];
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly pipeline: Pipeline,
    private readonly debounceMs = 150,
    private readonly onBatch?: (b: BatchResult) => void,
  ) {}

  private reconcileDue = false;
  private timer: NodeJS.Timeout | null = null;

  enqueue(key: string): void {
    if (!key.startsWith(LANDING_PREFIX)) return;
    this.pending.add(key);
    this.kick();
  }

  /**
   * The local stand-in for AWS's schedule rule: a transform with no new files (held items expire,
   * a run killed before its final check, a table deleted and recreated, all reconciled). Runs in
   * the same loop as the batches, so it never overlaps them.
   */
  reconcile(): void {
    this.reconcileDue = true;
    this.kick();
  }

  /** Reconciles now and then every `seconds`; stop() ends it. */
  schedule(seconds: number): void {
    this.reconcile();
    if (seconds > 0) this.timer = setInterval(() => this.reconcile(), seconds * 1000).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private kick(): void {
    if (!this.running) this.running = this.loop().finally(() => (this.running = null));
  }

  private async loop(): Promise<void> {
    await new Promise((r) => setTimeout(r, this.debounceMs));
    let failures = 0;
    while (this.pending.size || this.reconcileDue) {
      if (!this.pending.size) {
        this.reconcileDue = false;
        try {
          await this.pipeline.ensureTables();
          const t = await this.pipeline.transform();
          this.batches.push({ validated: [], transform: t });
          this.onBatch?.({ validated: [], transform: t });
        } catch (err) {
          this.errors.push(err as Error);
          this.pipeline.obs.error('reconcile_failed', { error: (err as Error).message });
          await this.pipeline.obs.alert('KPI pipeline reconcile failed', (err as Error).message);
        }
        continue;
      }
      this.reconcileDue = false; // a batch transforms anyway
      await this.pipeline.ensureTables().catch(() => undefined); // a failure shows in the batch itself
      const keys = [...this.pending];
      this.pending.clear();
      try {
        const b = await this.batch(keys);
        this.batches.push(b);
        this.onBatch?.(b);
        failures = 0;
        for (const v of b.validated) {
          if (v.status !== 'failed') continue;
          const n = (this.attempts.get(v.key) ?? 0) + 1;
          this.attempts.set(v.key, n);
          if (n < 3) this.pending.add(v.key);
          else this.errors.push(new Error(`${v.key}: ${v.note}`));
        }
      } catch (err) {
        this.errors.push(err as Error);
        this.pipeline.obs.error('batch_failed', { error: (err as Error).message, keys: keys.length });
        await this.pipeline.obs.alert('KPI pipeline batch failed', `${(err as Error).stack ?? err}`);
        // Unprocessed objects stay in the landing zone; retry a few times, then wait for the next event or start.
        if (++failures < 3) {
          for (const k of keys) this.pending.add(k);
          await new Promise((r) => setTimeout(r, 500 * failures));
        }
      }
    }
  }

  /**
   * Validates `keys`, then whatever was queued meanwhile (for up to DRAIN_MS), then transforms
   * once: a load still arriving is recomputed once at its end, not once per file. Every key taken
   * is appended to `keys` (the caller requeues them if the batch fails).
   */
  private async batch(keys: string[]): Promise<BatchResult> {
    const started = Date.now();
    const validated = await this.pipeline.validate([...keys]);
    while (this.pending.size && Date.now() - started < DRAIN_MS) {
      const more = [...this.pending];
      this.pending.clear();
      keys.push(...more);
      validated.push(...(await this.pipeline.validate(more)));
    }
    const transform = await this.pipeline.transform();
    this.pipeline.latency(validated);
    return { validated, transform };
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.running || this.pending.size) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 10));
    }
  }
}
