import { expect, test } from '@playwright/test';
import { GUEST_SLOT } from '../people';
import { personFor, ready, WECHAT_UA } from './helpers';

test.describe('缴纳罚款 as a guest in WeChat', () => {
  test.use({ userAgent: WECHAT_UA });

  test('a wrong plate is refused like a wrong number; the right pair pays and leaves a receipt', async ({ page }, testInfo) => {
    const p = personFor(testInfo, GUEST_SLOT);
    await page.goto('/');
    await ready(page);
    await page.getByRole('link', { name: /缴纳罚款/ }).click();
    await expect(page.getByRole('heading', { name: '缴纳罚款' })).toBeVisible();
    await ready(page);
    await page.getByLabel('决定书编号').fill(p.overdueDecision);
    await page.getByLabel('车牌号').fill('辽B00000');
    await page.getByRole('button', { name: '查询' }).click();
    await expect(page.getByText(/未查询到符合条件的处罚决定书/)).toBeVisible();

    await ready(page);
    await page.getByLabel('决定书编号').fill(p.overdueDecision);
    await page.getByLabel('车牌号').fill(p.plate);
    await page.getByRole('button', { name: '查询' }).click();
    await expect(page.getByText(p.overdueDecision)).toBeVisible();
    await expect(page.getByText(p.name[0] + '*', { exact: true })).toBeVisible();
    await expect(page.getByText(p.name, { exact: true })).toHaveCount(0);
    await expect(page.getByText('115.00元', { exact: true }).first()).toBeVisible();
    await expect(page.getByText('微信支付（沙箱）')).toBeVisible();
    await ready(page);
    await page.getByRole('button', { name: '缴费', exact: true }).click();
    await expect(page.getByText('¥115.00')).toBeVisible();
    await page.getByRole('button', { name: '确认支付' }).click();
    await expect(page.getByRole('heading', { name: '缴费成功' })).toBeVisible();
    await ready(page);
    await page.getByRole('link', { name: '电子缴款凭证' }).click();
    await expect(page.getByRole('heading', { name: '电子缴款凭证' })).toBeVisible();
    await expect(page.getByText('微信支付（沙箱）')).toBeVisible();
  });
});
