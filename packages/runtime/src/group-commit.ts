/**
 * Group commit: writes submitted by many executions in flight are sent together, one call per batch, and each
 * submitter's promise settles once its batch is written. A batch goes as soon as a flush slot is free, so under light
 * load a write waits for one round trip, and under heavy load the writes that arrive during a flush form the next
 * batch: the batch size follows the load without a timer.
 */

/** Settings of a {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Most writes per batch. Default 500. */
  maxBatch?: number;
  /** Batches written at once (each on its own connection). Default 2. */
  maxInFlight?: number;
}

/** Writes one batch; returns one result per write, in order. */
export type FlushBatch<W, R> = (writes: W[]) => Promise<R[]>;

/** Batches writes across callers; see the module comment. */
export class GroupCommit<W, R> {
  readonly #flush: FlushBatch<W, R>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: { write: W; resolve: (result: R) => void; reject: (error: unknown) => void }[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(flush: FlushBatch<W, R>, options: GroupCommitOptions = {}) {
    this.#flush = flush;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#maxInFlight = options.maxInFlight ?? 2;
  }

  /** Queues a write; resolves with its result once the batch holding it is written. */
  submit(write: W): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ write, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    // One macrotask of delay lets the writes of executions resumed by the same I/O event join one batch.
    setTimeout(() => {
      this.#scheduled = false;
      this.#next();
    }, 0);
  }

  #next(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight++;
      this.#write(batch).finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    }
  }

  async #write(batch: { write: W; resolve: (result: R) => void; reject: (error: unknown) => void }[]): Promise<void> {
    try {
      const results = await this.#flush(batch.map((item) => item.write));
      batch.forEach((item, i) => item.resolve(results[i]!));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad write must not fail the others of its batch: write them one by one, so only the culprit fails.
      await Promise.all(batch.map(async (item) => {
        try {
          const [result] = await this.#flush([item.write]);
          item.resolve(result!);
        } catch (single) {
          item.reject(single);
        }
      }));
    }
  }
}
