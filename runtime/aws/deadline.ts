// The task deadline (the seed's 900 s timeout): work checks it between units and stops cleanly.

export class DeadlineExceeded extends Error {
  constructor(seconds: number) {
    super(`deadline of ${seconds} s reached; stopped cleanly, a rerun finishes the work`);
  }
}

export class Deadline {
  private readonly end: number;
  constructor(private readonly seconds: number) {
    this.end = Date.now() + seconds * 1000;
  }
  static none(): Deadline {
    return new Deadline(1e9);
  }
  check(): void {
    if (Date.now() > this.end) throw new DeadlineExceeded(this.seconds);
  }
}
