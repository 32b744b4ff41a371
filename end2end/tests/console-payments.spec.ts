import { expect, Page, test } from '@playwright/test';
import { STAFF_PASSWORD } from '../people';
import { ready } from './helpers';

/** Signs a console account in by the sign-in page's labels. */
async function staffSignIn(page: Page, username: string) {
  await page.goto('/console/login');
  await ready(page);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码').fill(STAFF_PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page.getByText(`${username} · `)).toBeVisible();
  await ready(page);
}

test('a bank operator filters the orders, exports them, and opens reconciliation and exceptions', async ({ page }) => {
  await staffSignIn(page, 'e2e-bank');
  await page.getByRole('link', { name: '缴款订单与对账' }).click();
  await expect(page.getByRole('heading', { name: '缴款订单' })).toBeVisible();
  await expect(page.getByText(/共\d+笔订单，其中已支付\d+笔，合计\d+\.\d{2}元/)).toBeVisible();

  await page.getByLabel('状态').selectOption({ label: '已支付' });
  await page.getByLabel('渠道').selectOption({ label: '融e联' });
  await page.getByRole('button', { name: '查询' }).click();
  await expect(page).toHaveURL(/state=paid&channel=icbc/);
  await ready(page);
  await expect(page.getByLabel('状态')).toHaveValue('paid');
  const csvLink = page.getByRole('link', { name: '导出CSV' });
  await expect(csvLink).toHaveAttribute('href', /^\/console\/payments\.csv\?state=paid&channel=icbc/);

  const csv = await page.request.get((await csvLink.getAttribute('href'))!);
  expect(csv.headers()['content-type']).toBe('text/csv; charset=utf-8');
  const body = await csv.body();
  expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  expect(body.toString('utf8')).toContain('订单号,决定书编号,渠道,状态');

  await page.getByRole('link', { name: '每日对账' }).click();
  await expect(page.getByRole('heading', { name: '每日对账' })).toBeVisible();
  await expect(page.getByRole('columnheader', { name: '平台笔数' })).toBeVisible();
  await expect(page.getByRole('rowheader', { name: '微信' })).toBeVisible();
  await expect(page.getByRole('rowheader', { name: '融e联' })).toBeVisible();

  await page.getByRole('link', { name: '异常处理' }).click();
  await expect(page.getByRole('heading', { name: '异常处理' })).toBeVisible();
  await expect(page.getByRole('heading', { name: /等待过久/ })).toBeVisible();
});

test('an auditor reads the exceptions without any way to settle them', async ({ page }) => {
  await staffSignIn(page, 'e2e-auditor');
  await page.goto('/console/payments/exceptions');
  await expect(page.getByText('审计员只读：可查看，不能处理。')).toBeVisible();
  await expect(page.getByRole('button', { name: '标记已处理' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: '向网关查询' })).toHaveCount(0);
});

test('a police operator is refused the payment screens and the export', async ({ page }) => {
  await staffSignIn(page, 'e2e-police');
  await page.goto('/console/payments');
  await expect(page.getByText('您的角色无权进行此操作')).toBeVisible();
  expect((await page.request.get('/console/payments.csv')).status()).toBe(403);
});
