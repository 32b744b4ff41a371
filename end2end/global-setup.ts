import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PERSONAL_DATA } from './playwright.config';
import {
  applicant,
  APPLICANTS,
  cardsCsv,
  driversCsv,
  person,
  PEOPLE,
  STAFF_PASSWORD,
  vehiclesCsv,
  violationsCsv,
} from './people';

const ID_COLUMNS = ['id_number', 'owner_id_number', 'party_id_number', 'phone'];

/**
 * Every ID number and phone of the run: the test people, the applicants and the demo data's people (the server
 * loads app/demo/*.csv with DEMO_DATA), for the check that none of them reaches the server's log.
 */
function personalData(): string[] {
  const values = new Set<string>();
  for (let n = 0; n < PEOPLE; n++) [person(n).idNumber, person(n).phone].forEach((v) => values.add(v));
  for (let n = 0; n < APPLICANTS; n++) [applicant(n).idNumber, applicant(n).phone].forEach((v) => values.add(v));
  const demo = '../app/demo';
  for (const file of readdirSync(demo).filter((f) => f.endsWith('.csv'))) {
    const [header, ...rows] = readFileSync(join(demo, file), 'utf8').trim().split('\n');
    const columns = header.split(',').map((c, i) => [c, i] as const).filter(([c]) => ID_COLUMNS.includes(c));
    for (const row of rows) {
      const fields = row.split(',');
      for (const [, i] of columns) if (fields[i]?.trim()) values.add(fields[i].trim());
    }
  }
  return [...values];
}

// Loads the test people with `server import KIND FILE`, the operators' own command.
export default function globalSetup() {
  mkdirSync(dirname(PERSONAL_DATA), { recursive: true });
  writeFileSync(PERSONAL_DATA, personalData().join('\n') + '\n');
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
