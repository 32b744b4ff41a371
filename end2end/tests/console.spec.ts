import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { person } from '../people';
import { consoleSignIn } from './helpers';

const PROJECTS = ['android-hydrated', 'android-nojs', 'iphone-hydrated', 'iphone-nojs'];

/** Two people the import has never seen, different in every project. */
function newcomers(project: string) {
  const base = 400 + PROJECTS.indexOf(project) * 10;
  return [person(base), person(base + 1)];
}

test('a police operator uploads drivers.csv: a bad row is reported by line and nothing changes', async ({ page }, testInfo) => {
  const [a, b] = newcomers(testInfo.project.name);
  const header = 'id_number,name,licence_class,licence_status,first_issued,cycle_points';
  const bad = `${header}\n${a.idNumber},${a.name},B2,normal,2012-03-01,2\n${b.idNumber},${b.name},Z9,normal,2012-03-01,1\n`;
  const good = bad.replace(',Z9,', ',C1,');

  await consoleSignIn(page, 'police');
  await page.getByRole('link', { name: '数据导入' }).click();
  await expect(page.getByRole('heading', { name: '数据导入' })).toBeVisible();
  await page.getByLabel('数据类型').selectOption('drivers');
  await page.getByLabel('文件').setInputFiles({ name: 'drivers.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await page.getByRole('button', { name: '上传并导入' }).click();
  await expect(page.getByText(/第3行：licence_class/)).toBeVisible();
  await expect(page.getByText(/未导入任何数据/)).toBeVisible();

  // The good row of the bad file was not written: the corrected file adds both people.
  await page.getByLabel('数据类型').selectOption('drivers');
  await page.getByLabel('文件').setInputFiles({ name: 'drivers.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
  await page.getByRole('button', { name: '上传并导入' }).click();
  await expect(page.getByText('drivers.csv（drivers）导入成功：新增2条，更新0条')).toBeVisible();
});

test('each role sees only its own console menus, and the auditor finds the upload in the audit log', async ({ page }) => {
  await consoleSignIn(page, 'auditor');
  await expect(page.getByRole('link', { name: '数据导入' })).toHaveCount(0);
  await page.getByRole('link', { name: '审计日志' }).click();
  await expect(page.getByRole('heading', { name: '审计日志' })).toBeVisible();
  await page.getByLabel('操作', { exact: true }).fill('staff.add');
  await page.getByRole('button', { name: '查询' }).click();
  await expect(page.getByRole('cell', { name: 'e2e-police', exact: true })).toBeVisible();
  await page.goto('/console/import');
  await expect(page.getByText('您的角色无权进行此操作')).toBeVisible();

  await consoleSignIn(page, 'bank');
  await expect(page.getByRole('link', { name: '审计日志' })).toHaveCount(0);
  await page.goto('/console/audit');
  await expect(page.getByText('您的角色无权进行此操作')).toBeVisible();
});

test('数据导出: the police take decisions.csv, the bank its three files, each a UTF-8 CSV with its header', async ({ page }) => {
  await consoleSignIn(page, 'police');
  await page.getByRole('link', { name: '数据导出' }).click();
  await expect(page.getByRole('heading', { name: '数据导出' })).toBeVisible();
  await expect(page.locator('form.export-form')).toHaveCount(1);
  const decisions = page.locator('form.export-form').filter({ hasText: 'decisions.csv' });
  // 起始时间 re-exports everything since: a day long past, so the file holds every decision made in the app so far.
  await decisions.getByLabel('起始时间（可选）').fill('2020-01-01T00:00');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    decisions.getByRole('button', { name: '导出CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^decisions-\d{8}-\d{6}-\d+\.csv$/);
  const text = readFileSync(await download.path(), 'utf8');
  expect(text.split('\n')[0]).toBe('decision_no,record_no,party_id_number,points,fine_fen,decided_on,decided_at');
  for (const row of text.trim().split('\n').slice(1)) {
    expect(row).toMatch(/^\d{15,16},\w+,\d{17}[\dX],\d+,\d+,\d{4}-\d{2}-\d{2},\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  }
  await page.goto('/console/export');
  await expect(page.locator('form.export-form').getByText(/^上次导出：第\d+次，\d{4}-\d{2}-\d{2} \d{2}:\d{2}/)).toBeVisible();

  await consoleSignIn(page, 'bank');
  await page.goto('/console/export');
  await expect(page.locator('form.export-form')).toHaveCount(3);
  const headers: Record<string, string> = {
    payments: 'receipt_no,decision_no,fine_fen,late_fee_fen,amount_fen,channel,txn_id,paid_at',
    unbindings: 'plate,plate_type,card_no,unbound_at',
    cards: 'card_no,id_number,name,phone,status,application_no,changed_at',
  };
  for (const [kind, header] of Object.entries(headers)) {
    const form = page.locator('form.export-form').filter({ hasText: `${kind}.csv` });
    const [file] = await Promise.all([page.waitForEvent('download'), form.getByRole('button', { name: '导出CSV' }).click()]);
    expect(readFileSync(await file.path(), 'utf8').split('\n')[0]).toBe(header);
  }
});
