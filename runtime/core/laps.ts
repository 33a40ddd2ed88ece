// Milliseconds per named step, for the logs (where a run's time goes).

export function laps(): { times: Record<string, number>; lap: (name: string) => void } {
  const times: Record<string, number> = {};
  let t = performance.now();
  return {
    times,
    lap(name) {
      const now = performance.now();
      times[name] = Math.round(now - t);
      t = now;
    },
  };
}
