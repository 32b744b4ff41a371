import { expect, Page, test, TestInfo } from '@playwright/test';
import { Applicant, applicant, Person, person, STAFF_PASSWORD } from '../people';

export const WECHAT_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701(0x2800323B) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN';

const PROJECTS = ['android-hydrated', 'android-nojs', 'iphone-hydrated', 'iphone-nojs'];

/** The test person for `slot` in this project, so parallel projects never share a phone. */
export function personFor(testInfo: TestInfo, slot: number): Person {
  const project = PROJECTS.indexOf(testInfo.project.name);
  if (project < 0 || slot >= 100) throw new Error(`no person for ${testInfo.project.name} slot ${slot}`);
  return person(project * 100 + slot);
}

/** The card applicant for `slot` (0 ≤ slot < 25) in this project, so parallel projects never share one. */
export function applicantFor(testInfo: TestInfo, slot: number): Applicant {
  const project = PROJECTS.indexOf(testInfo.project.name);
  if (project < 0 || slot >= 25) throw new Error(`no applicant for ${testInfo.project.name} slot ${slot}`);
  return applicant(project * 25 + slot);
}

/** A platform account id no other test uses. */
export function uid(testInfo: TestInfo, name: string): string {
  return `${testInfo.project.name}-${name}-${Date.now()}`;
}

/** Waits until the page is interactive: hydrated when JavaScript runs, loaded otherwise. */
export async function ready(page: Page) {
  if (test.info().project.use.javaScriptEnabled !== false) {
    await page.locator('body[data-hydrated="true"]').waitFor();
  }
}

/** Signs in through the development provider, landing on the channel home. */
export async function signIn(page: Page, channel: 'wechat' | 'icbc', account: string) {
  await page.goto(`/auth/dev/login?channel=${channel}&uid=${encodeURIComponent(account)}`);
  await ready(page);
}

/** The newest code in the development SMS outbox for `phone`. */
export async function latestCode(page: Page, phone: string): Promise<string> {
  const response = await page.request.get(`/dev/sms?phone=${phone}`);
  const match = (await response.text()).match(/验证码是(\d{6})/);
  if (!match) throw new Error(`no code for ${phone}`);
  return match[1];
}

export interface RealNameFields {
  name: string;
  idNumber: string;
  card: string;
  phone: string;
}

/** Fills the 实名认证 form by its labels. */
export async function fillRealName(page: Page, fields: RealNameFields) {
  await page.getByLabel('姓名', { exact: true }).fill(fields.name);
  await page.getByLabel('身份证号', { exact: true }).fill(fields.idNumber);
  await page.getByLabel('交通服务卡卡号', { exact: true }).fill(fields.card);
  await page.getByLabel('手机号', { exact: true }).fill(fields.phone);
}

/** Presses 获取验证码 and returns the code the outbox received. */
export async function requestCode(page: Page, phone: string): Promise<string> {
  // A phone that just received a code (e.g. for 申办交通服务卡) must wait out the resend interval, as a person would.
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.getByRole('button', { name: '获取验证码' }).click();
    const sent = page.getByText('验证码已发送至');
    const tooSoon = page.getByText(/验证码发送过于频繁，请\d+秒后再试/);
    await expect(sent.or(tooSoon)).toBeVisible();
    await ready(page);
    if (await sent.isVisible()) return latestCode(page, phone);
    const seconds = Number((await tooSoon.textContent())!.match(/(\d+)秒/)![1]);
    await page.waitForTimeout(seconds * 1000 + 250);
  }
  throw new Error(`no code was sent to ${phone}`);
}

/** Enters `code` and presses 提交认证. */
export async function submitCode(page: Page, code: string) {
  await page.getByLabel('短信验证码', { exact: true }).fill(code);
  await page.getByRole('button', { name: '提交认证' }).click();
}

/** Opens 实名认证 from the home menu. */
export async function openRealName(page: Page) {
  await page.getByRole('link', { name: /实名认证/ }).first().click();
  await expect(page.getByRole('heading', { name: '实名认证' })).toBeVisible();
  await ready(page);
}

/** Signs in and completes 实名认证 for `p` from the home menu. */
export async function signInLinked(page: Page, channel: 'wechat' | 'icbc', account: string, p: Person) {
  await signIn(page, channel, account);
  await page.goto('/realname');
  await ready(page);
  await fillRealName(page, p);
  await submitCode(page, await requestCode(page, p.phone));
  await expect(page.getByText('实名认证成功')).toBeVisible();
  await page.goto('/');
  await ready(page);
}

/** Signs into the operators' console as the global-setup account for `role`. */
export async function consoleSignIn(page: Page, role: 'bank' | 'police' | 'auditor') {
  await page.goto('/console/login');
  await ready(page);
  await page.getByLabel('用户名', { exact: true }).fill(`e2e-${role}`);
  await page.getByLabel('密码', { exact: true }).fill(STAFF_PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page.getByRole('heading', { name: '管理后台', exact: true })).toBeVisible();
  await ready(page);
}
