// Run async jobs with at most `concurrency` in flight. (p-limit does this too; as an ESM-only
// package loaded through require() it added 8 ms to every CLI start, for these few lines.)

export type Limit = <T>(job: () => Promise<T>) => Promise<T>;

export function limit(concurrency: number): Limit {
  let active = 0;
  const waiting: Array<() => void> = [];
  const next = () => {
    active -= 1;
    waiting.shift()?.();
  };
  return <T>(job: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      const run = () => {
        active += 1;
        job().then(resolve, reject).finally(next);
      };
      if (active < concurrency) run();
      else waiting.push(run);
    });
}

/** Map with bounded concurrency, keeping the order of `items`. */
export function mapLimit<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const gate = limit(concurrency);
  return Promise.all(items.map((item) => gate(() => fn(item))));
}
