/**
 * `npm run bench -- --help` prints the usage and exits 0 without starting anything; a bad option prints
 * one sentence and the usage, never a stack trace, and exits 2.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs, SCENARIOS, usage } from '../../bench/cli.ts';

const ROOT = resolve(import.meta.dirname, '../..');

function bench(...args: string[]) {
  // The environment the bench would start is never reached: no fakes, no app process, no ports.
  return spawnSync(process.execPath, [join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
}

describe('bench/run.ts command line', () => {
  it('--help prints the scenarios and options and exits 0, before starting the environment', () => {
    const result = bench('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(usage());
    for (const scenario of Object.keys(SCENARIOS)) expect(result.stdout).toMatch(new RegExp(`^  ${scenario} `, 'm'));
    for (const option of ['--only <scenario>', '--app-node-options', '-h, --help']) expect(result.stdout).toContain(option);
    expect(result.stderr).not.toMatch(/starting the environment/);
  });

  it('answers an unknown option with one sentence and the usage, without a stack trace', () => {
    const result = bench('--bogus');
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe("bench: Unknown option '--bogus'.");
    expect(result.stderr).toContain(usage());
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stdout).toBe('');
  });

  it('parses the options it knows, and refuses unknown scenarios and stray arguments', () => {
    expect(parseBenchArgs([])).toEqual({ kind: 'run', options: { only: undefined, appNodeOptions: undefined } });
    expect(parseBenchArgs(['--only', 'burst', '--app-node-options=--cpu-prof'])).toEqual({
      kind: 'run',
      options: { only: 'burst', appNodeOptions: '--cpu-prof' },
    });
    expect(parseBenchArgs(['-h'])).toEqual({ kind: 'help' });
    expect(parseBenchArgs(['--only', 'ack', '--help'])).toEqual({ kind: 'help' });
    expect(parseBenchArgs(['--only', 'nope'])).toEqual({
      kind: 'error',
      message: `Unknown scenario 'nope': --only takes one of ${Object.keys(SCENARIOS).join(', ')}.`,
    });
    expect(parseBenchArgs(['--only'])).toEqual({ kind: 'error', message: "Option '--only <value>' argument missing." });
    expect(parseBenchArgs(['extra'])).toEqual({ kind: 'error', message: "Unexpected argument 'extra'." });
  });
});
