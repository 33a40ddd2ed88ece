// Progress on stderr, only when a person is watching (a TTY) and the work is large enough to wait for.

export function progressBar(label: string, minTotal = 20 << 20): (done: number, total: number) => void {
  if (!process.stderr.isTTY) return () => {};
  let last = 0;
  return (done, total) => {
    if (total < minTotal) return;
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    const pct = Math.min(100, Math.floor((done / total) * 100));
    const width = 30;
    const fill = Math.round((pct / 100) * width);
    process.stderr.write(`\r${label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${pct}%`);
    if (done >= total) process.stderr.write('\n');
  };
}
