import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cardsCsv, driversCsv, STAFF_PASSWORD, vehiclesCsv, violationsCsv } from './people';

// Loads the test people with `server import KIND FILE`, the operators' own command.
export default function globalSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'dlt-e2e-'));
  const files: [string, string][] = [
    ['cards', cardsCsv()],
    ['drivers', driversCsv()],
    ['vehicles', vehiclesCsv()],
    ['violations', violationsCsv()],
  ];
  for (const [kind, csv] of files) {
    const file = join(dir, `${kind}.csv`);
    writeFileSync(file, csv);
    const out = execFileSync('./target/release/server', ['import', kind, file], {
      cwd: '..',
      env: { ...process.env, RUST_LOG: 'warn' },
      encoding: 'utf8',
    });
    if (!out.includes('新增')) throw new Error(`${kind} import did not report its counts: ${out}`);
  }
  // Console accounts, made with the operators' own command; the password comes on standard input.
  for (const role of ['bank', 'police', 'auditor']) {
    try {
      execFileSync('./target/release/server', ['staff', 'add', `e2e-${role}`, role], {
        cwd: '..',
        env: { ...process.env, RUST_LOG: 'warn' },
        input: `${STAFF_PASSWORD}\n`,
        encoding: 'utf8',
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (e) {
      // A database kept from an earlier local run already has the account.
      if (!String((e as { stderr?: string }).stderr).includes('already exists')) throw e;
    }
  }
}
