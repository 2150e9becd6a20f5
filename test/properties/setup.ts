/**
 * Property suites run with a fixed seed in `npm test`, so a run is reproducible and CI explores the
 * same inputs each time; `FC_SEED=<n>` (or `FC_SEED=random`) and `FC_RUNS` explore further locally.
 */
import fc from 'fast-check';

const seed = process.env.FC_SEED;
fc.configureGlobal({
  ...(seed === 'random' ? {} : { seed: Number(seed ?? 20_261_205) }),
  ...(process.env.FC_RUNS ? { numRuns: Number(process.env.FC_RUNS) } : {}),
});
