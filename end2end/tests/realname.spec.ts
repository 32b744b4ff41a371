import { expect, test } from '@playwright/test';
import { Person } from '../people';
import { fillRealName, openRealName, personFor, requestCode, signIn, submitCode, uid, WECHAT_UA } from './helpers';

test.describe('实名认证 in WeChat', () => {
  test.use({ userAgent: WECHAT_UA });

  test('a card holder authenticates and the card menus open', async ({ page }, testInfo) => {
    const p = personFor(testInfo, 0);
    await signIn(page, 'wechat', uid(testInfo, 'ok'));
    await openRealName(page);
    await fillRealName(page, { name: p.name, idNumber: p.idNumber, card: p.card, phone: p.phone });
    const code = await requestCode(page, p.phone);
    await submitCode(page, code);
    await expect(page.getByText('实名认证成功')).toBeVisible();
    await expect(page.getByText('已完成实名认证')).toBeVisible();
    await expect(page.getByText(`****${p.card.slice(-4)}`)).toBeVisible();
    await expect(page.getByText(p.idNumber)).toHaveCount(0);
    await page.getByRole('link', { name: '返回首页' }).click();
    await page.getByRole('link', { name: '交通违法缴罚' }).click();
    await expect(page.getByRole('link', { name: '交通违法处理' })).toBeVisible();
  });
});

test.describe('实名认证', () => {
  test('a card holder authenticates in 融e联 and 违章处理 appears', async ({ page }, testInfo) => {
    const p = personFor(testInfo, 1);
    await signIn(page, 'icbc', uid(testInfo, 'ok'));
    await openRealName(page);
    await fillRealName(page, { name: p.name, idNumber: p.idNumber, card: p.card, phone: p.phone });
    const code = await requestCode(page, p.phone);
    await submitCode(page, code);
    await expect(page.getByText('实名认证成功')).toBeVisible();
    await page.getByRole('link', { name: '返回首页' }).click();
    await expect(page.getByText('违章处理')).toBeVisible();
    for (const label of ['交通违法处理', '交通罚款缴纳', '已绑定车辆信息']) {
      await expect(page.getByRole('link', { name: label })).toBeVisible();
    }
  });

  // After a valid code the person asking may be a stranger: nothing says which detail is wrong or whose the card is.
  const MISMATCH = '交通服务卡卡号、姓名、身份证号或手机号与办卡登记信息不一致，请核对后重试';
  const refusals = [
    { slot: 10, what: 'an unknown card', change: (p: Person) => ({ ...p, card: '6222009900001009' }), message: MISMATCH },
    { slot: 11, what: 'a cancelled card', change: (p: Person) => ({ ...p, card: p.cancelledCard }), message: '该交通服务卡已注销' },
    { slot: 12, what: "another person's card", change: (p: Person) => ({ ...p, idNumber: '210202198503122018' }), message: MISMATCH },
    { slot: 13, what: 'a name that does not match the ID', change: (p: Person) => ({ ...p, name: '欧阳测试' }), message: MISMATCH },
  ];
  for (const { slot, what, change, message } of refusals) {
    test(`${what} is refused without telling who owns the card`, async ({ page }, testInfo) => {
      const p = change({ ...personFor(testInfo, slot) });
      await signIn(page, 'icbc', uid(testInfo, `refused-${slot}`));
      await openRealName(page);
      await fillRealName(page, p);
      const code = await requestCode(page, p.phone);
      await submitCode(page, code);
      await expect(page.getByText(message)).toBeVisible();
      await expect(page.getByText('实名认证成功')).toHaveCount(0);
      await expect(page.getByLabel('身份证号', { exact: true })).toHaveValue(p.idNumber);
    });
  }

  test('a wrong code, then five wrong codes, are refused', async ({ page }, testInfo) => {
    const p = personFor(testInfo, 20);
    await signIn(page, 'wechat', uid(testInfo, 'attempts'));
    await openRealName(page);
    await fillRealName(page, p);
    const code = await requestCode(page, p.phone);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 4; i++) {
      await submitCode(page, wrong);
      await expect(page.getByText('短信验证码错误', { exact: true })).toBeVisible();
    }
    await submitCode(page, wrong);
    await expect(page.getByText('验证码错误次数过多，请重新获取')).toBeVisible();
    await submitCode(page, code);
    await expect(page.getByText('验证码错误次数过多，请重新获取')).toBeVisible();
  });

  test('a second code within the resend wait is refused', async ({ page }, testInfo) => {
    const p = personFor(testInfo, 21);
    await signIn(page, 'icbc', uid(testInfo, 'too-soon'));
    await openRealName(page);
    await fillRealName(page, p);
    await requestCode(page, p.phone);
    await page.getByRole('button', { name: '获取验证码' }).click();
    await expect(page.getByText(/验证码发送过于频繁/)).toBeVisible();
  });

  test('an expired code is refused', async ({ page }, testInfo) => {
    test.setTimeout(90_000);
    const p = personFor(testInfo, 22);
    await signIn(page, 'icbc', uid(testInfo, 'expired'));
    await openRealName(page);
    await fillRealName(page, p);
    const code = await requestCode(page, p.phone);
    // The e2e server gives codes 20 seconds (SMS_CODE_TTL_SECS); the product default is 5 minutes.
    await page.waitForTimeout(21_000);
    await submitCode(page, code);
    await expect(page.getByText('短信验证码已过期，请重新获取')).toBeVisible();
  });

  test('bad formats are marked on their fields', async ({ page }, testInfo) => {
    await signIn(page, 'icbc', uid(testInfo, 'format'));
    await openRealName(page);
    await fillRealName(page, { name: 'X', idNumber: '210202198503122019', card: '1234', phone: '12345' });
    await submitCode(page, '1');
    for (const message of ['姓名格式不正确', '身份证号校验位不正确', '交通服务卡卡号应为16至19位数字', '手机号格式不正确', '验证码应为6位数字']) {
      await expect(page.getByText(message)).toBeVisible();
    }
  });

  test('解除绑定 asks first, then re-authentication with a new card succeeds', async ({ page }, testInfo) => {
    const p = personFor(testInfo, 30);
    await signIn(page, 'wechat', uid(testInfo, 'relink'));
    await openRealName(page);
    await fillRealName(page, p);
    await submitCode(page, await requestCode(page, p.phone));
    await expect(page.getByText('实名认证成功')).toBeVisible();

    await page.getByRole('link', { name: '解除绑定' }).click();
    await expect(page.getByText('确定解除绑定吗？')).toBeVisible();
    await page.getByRole('link', { name: '取消' }).click();
    await expect(page.getByText('已完成实名认证')).toBeVisible();

    await page.getByRole('link', { name: '解除绑定' }).click();
    await page.getByRole('button', { name: '确认解除绑定' }).click();
    await expect(page.getByText('已解除绑定，可使用新的交通服务卡重新实名认证')).toBeVisible();

    await page.waitForTimeout(3_500); // the e2e server's resend wait (SMS_RESEND_SECS=3)
    await fillRealName(page, { ...p, card: p.newCard });
    await submitCode(page, await requestCode(page, p.phone));
    await expect(page.getByText('实名认证成功')).toBeVisible();
    await expect(page.getByText(`****${p.newCard.slice(-4)}`)).toBeVisible();
  });
});
