// bench/device's EBSIM_BENCH_JOBS: the fio jobs a run times (all four when unset).
import { describe, expect, it } from 'vitest';
import { chooseJobs } from '../../bench/device/index.js';

describe('bench/device job choice (EBSIM_BENCH_JOBS)', () => {
  it('times all four jobs when unset or empty, in their usual order', () => {
    expect(chooseJobs(undefined).map((j) => j.name)).toEqual(['seq_write', 'seq_read', 'rand_read', 'rand_write']);
    expect(chooseJobs('').map((j) => j.name)).toEqual(['seq_write', 'seq_read', 'rand_read', 'rand_write']);
  });

  it('times only the named jobs, 4 KiB at queue depth 16 for the random ones', () => {
    const jobs = chooseJobs('rand_write, rand_read');
    expect(jobs.map((j) => j.name)).toEqual(['rand_read', 'rand_write']);
    expect(jobs.every((j) => j.bs === '4k' && j.iodepth === 16)).toBe(true);
  });

  it('refuses an unknown job name, naming the valid ones', () => {
    expect(() => chooseJobs('rand_read,randwrite')).toThrow(/unknown job\(s\) randwrite; expected some of seq_write, seq_read, rand_read, rand_write/);
  });
});
