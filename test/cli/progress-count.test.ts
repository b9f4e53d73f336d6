// The benchmark sweeps' bar: steps done of a total, and the time left from the pace so far.
import { describe, expect, it } from 'vitest';
import { countBar, formatDuration } from '../../src/cli/progress.js';

describe('countBar', () => {
  it('estimates the time left as elapsed / done x remaining', () => {
    // 10 of 40 steps in 30 s: 3 s a step, 30 steps left = 90 s.
    expect(countBar(10, 40, 30_000, 8)).toBe('[##......]  25%  10/40 ETA 1m30s');
  });
  it('estimates nothing before the first step and says done at the end', () => {
    expect(countBar(0, 5, 1000, 4)).toBe('[....]   0%  0/5');
    expect(countBar(5, 5, 1000, 4)).toBe('[####] 100%  5/5 done');
  });
  it('formats hours, minutes and seconds', () => {
    expect(formatDuration(59_400)).toBe('59s');
    expect(formatDuration(3_723_000)).toBe('1h02m03s');
    expect(formatDuration(-5)).toBe('0s');
  });
});
