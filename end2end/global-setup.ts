import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cardsCsv } from './people';

// Loads the test people with `server import cards FILE`, the operators' own command.
export default function globalSetup() {
  const dir = mkdtempSync(join(tmpdir(), 'dlt-e2e-'));
  const file = join(dir, 'cards.csv');
  writeFileSync(file, cardsCsv());
  const out = execFileSync('./target/release/server', ['import', 'cards', file], {
    cwd: '..',
    env: { ...process.env, RUST_LOG: 'warn' },
    encoding: 'utf8',
  });
  if (!out.includes('新增')) throw new Error(`import did not report its counts: ${out}`);
}
