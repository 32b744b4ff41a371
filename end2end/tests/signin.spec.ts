import { expect, test } from '@playwright/test';
import { signIn, uid, WECHAT_UA } from './helpers';

test.describe('WeChat 大连交警', () => {
  test.use({ userAgent: WECHAT_UA });

  test('signing in shows 自助办理 and 警民互动', async ({ page }, testInfo) => {
    await signIn(page, 'wechat', uid(testInfo, 'menu'));
    await expect(page.getByRole('heading', { name: '大连交警' })).toBeVisible();
    await expect(page.getByText('自助办理', { exact: true })).toBeVisible();
    await expect(page.getByRole('link', { name: '交通违法缴罚' })).toBeVisible();
    await expect(page.getByRole('link', { name: /实名认证/ }).first()).toBeVisible();
    await expect(page.getByText('警民互动', { exact: true })).toBeVisible();
    await expect(page.getByRole('link', { name: '审验学习' })).toBeVisible();
    await expect(page.getByText('违章处理')).toHaveCount(0);
  });

  test('a guest in WeChat sees the guest services', async ({ page }) => {
    await page.goto('/');
    await expect(page.getByRole('heading', { name: '大连交警' })).toBeVisible();
    await expect(page.getByRole('link', { name: /申办交通服务卡/ })).toBeVisible();
    await expect(page.getByRole('button', { name: '退出登录' })).toHaveCount(0);
  });
});

test.describe('融e联 大连智慧交通', () => {
  test('signing in offers 实名认证 first, then signing out returns to the guest home', async ({ page }, testInfo) => {
    await signIn(page, 'icbc', uid(testInfo, 'menu'));
    await expect(page.getByRole('heading', { name: '大连智慧交通' })).toBeVisible();
    await expect(page.getByRole('link', { name: /实名认证/ }).first()).toBeVisible();
    await expect(page.getByRole('link', { name: /申办交通服务卡/ })).toBeVisible();
    await expect(page.getByRole('link', { name: /缴纳罚款/ })).toBeVisible();
    await expect(page.getByText('警民互动')).toHaveCount(0);
    await page.getByRole('button', { name: '退出登录' }).click();
    await expect(page.getByRole('button', { name: '退出登录' })).toHaveCount(0);
    await expect(page.getByText(/请从工银融e联/)).toBeVisible();
  });
});
