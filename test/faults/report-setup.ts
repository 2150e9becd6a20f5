/**
 * Global setup of the fault suite: a temporary JSON-lines file the scenarios append their rows to
 * (named by VTEAM_FAULTS_REPORT, inherited by the test workers), and at the end a fault × outcome
 * table on stdout.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPORT_ENV, type FaultRow } from './harness.ts';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'vteam-faults-'));
  const file = join(dir, 'rows.jsonl');
  process.env[REPORT_ENV] = file;
  const started = performance.now();
  return () => {
    let rows: FaultRow[] = [];
    try {
      rows = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as FaultRow);
    } catch {
      // no scenario ran
    }
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(`\n${faultTable(rows, (performance.now() - started) / 1000)}\n`);
  };
}

export function faultTable(rows: FaultRow[], wallSeconds: number): string {
  const sorted = [...rows].sort((a, b) => a.file.localeCompare(b.file) || a.startedAt - b.startedAt);
  const header = ['file', 'fault', 'issues', 'links ok', 'user told', 'leftovers', 'outcome', 'seconds'];
  const body = sorted.map((r) => [
    r.file,
    r.fault,
    String(r.issues),
    r.linksOk ? 'yes' : 'NO',
    r.userTold ? 'yes' : 'NO',
    r.leftovers.length === 0 ? '-' : r.leftovers.join('; ').slice(0, 70),
    r.outcome === 'pass' ? 'pass' : 'FAIL',
    r.seconds.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const numeric = new Set([2, 7]);
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const passed = rows.filter((r) => r.outcome === 'pass').length;
  return [
    'Fault suite: fault × outcome',
    line(header),
    rule,
    ...body.map(line),
    `${rows.length} scenarios: ${passed} passed, ${rows.length - passed} failed; wall time ${wallSeconds.toFixed(0)} s`,
  ].join('\n');
}
