import { Browser, expect, Page, TestInfo, test } from '@playwright/test';
import { Applicant, STAFF_PASSWORD } from '../people';
import { applicantFor, fillRealName, ready, requestCode, signIn, submitCode, uid } from './helpers';

/** Fills 申办交通服务卡 as a guest, submits it, and returns the 申请编号 the status page shows. */
async function applyAsGuest(page: Page, a: Applicant, plates: string[]): Promise<string> {
  await page.goto('/');
  await page.getByRole('link', { name: '申办交通服务卡' }).click();
  await expect(page.getByRole('heading', { name: '申办交通服务卡' })).toBeVisible();
  await ready(page);
  await page.getByLabel('姓名', { exact: true }).fill(a.name);
  await page.getByLabel('身份证号', { exact: true }).fill(a.idNumber);
  await page.getByLabel('手机号', { exact: true }).fill(a.phone);
  for (const [i, plate] of plates.entries()) {
    await page.getByLabel(`车牌号${i + 1}`, { exact: true }).fill(plate);
  }
  await page.getByLabel('领卡网点').selectOption('DL-ZS');
  const code = await requestCode(page, a.phone);
  // The form comes back with everything that was typed.
  await expect(page.getByLabel('身份证号', { exact: true })).toHaveValue(a.idNumber);
  await expect(page.getByLabel('领卡网点')).toHaveValue('DL-ZS');
  await page.getByLabel('短信验证码', { exact: true }).fill(code);
  await page.getByRole('button', { name: '提交申请' }).click();
  await expect(page.getByRole('heading', { name: '申请进度查询' })).toBeVisible();
  await expect(page.getByText('申请已提交')).toBeVisible();
  const number = (await page.locator('.application__no').first().textContent())?.match(/SQ\d{14}/)?.[0];
  if (!number) throw new Error('no 申请编号 on the status page');
  await expect(page.getByRole('listitem').filter({ hasText: '已提交' })).toBeVisible();
  return number;
}

/** A fresh phone-sized browser signed into the console as e2e-bank, on the application's detail page. */
async function bankOn(browser: Browser, testInfo: TestInfo, baseURL: string, number: string): Promise<Page> {
  const { viewport, userAgent, deviceScaleFactor, isMobile, hasTouch, javaScriptEnabled } = testInfo.project.use;
  const context = await browser.newContext({
    baseURL,
    viewport,
    userAgent,
    deviceScaleFactor,
    isMobile,
    hasTouch,
    javaScriptEnabled,
  });
  const bank = await context.newPage();
  await bank.goto('/console/login');
  await ready(bank);
  await bank.getByLabel('用户名').fill('e2e-bank');
  await bank.getByLabel('密码').fill(STAFF_PASSWORD);
  await bank.getByRole('button', { name: '登录' }).click();
  await expect(bank.getByRole('heading', { name: '管理后台' })).toBeVisible();
  await ready(bank);
  await bank.getByRole('link', { name: '交通服务卡申请' }).click();
  await ready(bank);
  await bank.getByRole('link', { name: '已提交', exact: true }).click();
  await bank.getByRole('link', { name: new RegExp(number) }).click();
  await expect(bank.getByRole('heading', { name: '申请详情' })).toBeVisible();
  await ready(bank);
  return bank;
}

/** Presses a console step's button and waits for its result. */
async function takeStep(bank: Page, button: string, done: string) {
  await bank.getByRole('button', { name: button, exact: true }).click();
  await expect(bank.getByText(done)).toBeVisible();
  await ready(bank);
}

test('a guest applies, the bank makes the card, and only after 确认领卡 does 实名认证 work, with the declared car on the card', async ({
  page,
  browser,
  baseURL,
}, testInfo) => {
  const a = applicantFor(testInfo, 0);
  const number = await applyAsGuest(page, a, [a.plate, a.othersPlate]);

  const bank = await bankOn(browser, testInfo, baseURL!, number);
  await expect(bank.getByText(a.idNumber)).toBeVisible();
  await expect(bank.getByRole('button', { name: '批准制卡' })).toHaveCount(0);
  await takeStep(bank, '开始审核', '已开始审核');
  await expect(bank.getByRole('button', { name: '开始审核' })).toHaveCount(0);
  await takeStep(bank, '批准制卡', '已批准制卡');
  // The card waits at the branch: no car moves until the ID card has been checked.
  await expect(bank.getByText('已关联车辆')).toHaveCount(0);
  const card = (await bank.locator('.weui-cell', { hasText: '卡号' }).locator('.weui-cell__ft').textContent())?.trim();
  expect(card).toMatch(/^62220299\d{8}$/);
  await expect(bank.getByText('请当面核验申请人本人身份证原件')).toBeVisible();
  await expect(bank.getByRole('button', { name: '确认领卡' })).toBeVisible();

  // The applicant's status page shows 已制卡 but no digit of the card.
  await page.reload();
  await expect(page.getByRole('listitem').filter({ hasText: '已制卡' })).toHaveAttribute('aria-current', 'step');
  await expect(page.getByText(`****${card!.slice(-4)}`, { exact: true })).toHaveCount(0);

  // Before 确认领卡 the card cannot be used for 实名认证.
  await signIn(page, 'icbc', uid(testInfo, 'card-holder'));
  await page.goto('/realname');
  await ready(page);
  await fillRealName(page, { name: a.name, idNumber: a.idNumber, card: card!, phone: a.phone });
  await submitCode(page, await requestCode(page, a.phone));
  await expect(page.getByText(/该交通服务卡尚未领取/)).toBeVisible();
  await expect(page.getByText('实名认证成功')).toHaveCount(0);

  // At the branch the bank checks the ID card and hands the card over.
  await takeStep(bank, '确认领卡', '已确认领卡');
  await expect(bank.getByText(`已关联车辆：${a.plate}`)).toBeVisible();
  await expect(bank.getByText(`未关联（非申请人名下）：${a.othersPlate}`)).toBeVisible();
  await bank.context().close();

  // The form kept what was typed; a new code links the card.
  await expect(page.getByLabel('交通服务卡卡号', { exact: true })).toHaveValue(card!);
  await submitCode(page, await requestCode(page, a.phone));
  await expect(page.getByText('实名认证成功')).toBeVisible();
  await page.goto('/');
  await page.getByRole('link', { name: '已绑定车辆信息' }).click();
  await expect(page.getByText(a.plate)).toBeVisible();
  await expect(page.getByText(a.othersPlate)).toHaveCount(0);
});

test('a rejected application shows its reason on the status page', async ({ page, browser, baseURL }, testInfo) => {
  const a = applicantFor(testInfo, 1);
  const number = await applyAsGuest(page, a, []);

  const bank = await bankOn(browser, testInfo, baseURL!, number);
  await bank.getByRole('button', { name: '驳回', exact: true }).click();
  await expect(bank.getByText('请填写驳回原因')).toBeVisible();
  await ready(bank);
  await bank.getByLabel('驳回原因').fill('身份证照片不清晰，请重新申请');
  await takeStep(bank, '驳回', '已驳回，申请状态');
  await bank.context().close();

  // Looked up from a fresh start with 申请编号 and 身份证号.
  await page.goto('/card-apply');
  await page.getByRole('link', { name: '申请进度查询' }).click();
  await ready(page);
  await page.getByLabel('申请编号').fill(number);
  await page.getByLabel('身份证号').fill(a.idNumber);
  await page.getByRole('button', { name: '查询' }).click();
  await expect(page.getByText('驳回原因：身份证照片不清晰，请重新申请')).toBeVisible();
  await expect(page.getByRole('listitem').filter({ hasText: '已驳回' })).toHaveAttribute('aria-current', 'step');
  await expect(page.getByText(number).first()).toBeVisible();
});
