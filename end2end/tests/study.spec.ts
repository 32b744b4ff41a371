import { expect, Page, test } from '@playwright/test';
import { STUDY_CASES, STUDY_SLOT } from '../people';
import { personFor, ready, signIn, signInLinked, uid, WECHAT_UA } from './helpers';

const hydrated = () => test.info().project.use.javaScriptEnabled !== false;

/** Answers every question with its first choice and submits. */
async function answerQuiz(page: Page) {
  const questions = page.locator('fieldset.quiz__question');
  await expect(questions).toHaveCount(10);
  for (let i = 0; i < 10; i++) {
    await questions.nth(i).locator('input[type="radio"]').first().check();
  }
  await page.getByRole('button', { name: '提交答卷' }).click();
}

/** Plays the open course until the server says it is complete. */
async function watchCourse(page: Page) {
  await expect(page.getByRole('heading', { name: '视频学习' })).toBeVisible();
  await ready(page);
  await page.locator('video').evaluate((video: HTMLVideoElement) => video.play());
  await expect(page.getByText('本课已完成')).toBeVisible({ timeout: 40_000 });
}

test.describe('审验学习 in WeChat', () => {
  test.use({ userAgent: WECHAT_UA });

  test('an eligible driver answers the quiz, studies the demo courses and gets a verifiable 审验证明', async ({
    page,
    browser,
  }, testInfo) => {
    test.setTimeout(150_000);
    const p = personFor(testInfo, STUDY_SLOT);
    await signInLinked(page, 'wechat', uid(testInfo, 'study'), p);
    await expect(page.getByText('警民互动')).toBeVisible();
    await page.getByRole('link', { name: '审验学习' }).click();
    await expect(page.getByText(/本记分周期已记3分，符合在线审验学习条件/)).toBeVisible();
    await expect(page.getByText('B2')).toBeVisible();
    await expect(page.getByText(/演示课程：.*学时要求缩短为27秒；正式学习要求不少于180分钟/)).toBeVisible();
    await ready(page);
    await page.getByRole('link', { name: '开始答题' }).click();

    await expect(page.getByRole('heading', { name: '在线答题' })).toBeVisible();
    await ready(page);
    // Submitting with nothing answered is refused by the browser (required) or the server; answer everything.
    await answerQuiz(page);
    await expect(page.getByRole('heading', { name: '答题结果' })).toBeVisible();
    await expect(page.getByText(/^得分：\d+分$/)).toBeVisible();
    await expect(page.getByText(/^正确答案：/)).toHaveCount(10);
    await expect(page.getByText(/^解析：/).first()).toBeVisible();
    await page.getByRole('link', { name: '进入视频课程学习' }).click();

    await expect(page.getByRole('heading', { name: '视频课程' })).toBeVisible();
    await expect(page.getByRole('link', { name: /去学习/ })).toHaveCount(3);
    await expect(page.getByText('学完全部课程后可申领审验证明。')).toBeVisible();
    await ready(page);
    await page.getByRole('link', { name: /安全驾驶与文明行车/ }).click();

    if (!hydrated()) {
      // Without JavaScript the player cannot report heartbeats, and the page says so.
      await expect(page.getByText(/视频学习需要启用JavaScript/)).toBeVisible();
      return;
    }
    await watchCourse(page);
    await page.getByRole('link', { name: '下一课' }).click();
    await watchCourse(page);
    await page.getByRole('link', { name: '下一课' }).click();
    await watchCourse(page);
    await page.getByRole('link', { name: '全部课程已学完，去申领审验证明' }).click();

    await expect(page.getByText('课程已全部学完，可以申领审验证明。')).toBeVisible();
    await expect(page.getByText('已完成')).toHaveCount(3);
    await ready(page);
    await page.getByRole('button', { name: '申领审验证明' }).click();

    await expect(page.getByRole('heading', { name: '审验证明', exact: true })).toBeVisible();
    await expect(page.getByText('机动车驾驶人审验学习证明')).toBeVisible();
    await expect(page.getByText(/^SY\d{14}$/)).toBeVisible();
    await expect(page.getByText(p.name[0] + '*')).toBeVisible();
    await expect(page.getByText(`${p.idNumber.slice(0, 4)}**********${p.idNumber.slice(-4)}`)).toBeVisible();
    await expect(page.getByText(p.idNumber, { exact: true })).toHaveCount(0);
    await expect(page.getByRole('img', { name: '审验证明验证二维码' })).toBeVisible();
    const verifyUrl = await page.getByRole('link', { name: /\/verify\// }).getAttribute('href');

    // Anyone scanning the QR code, even in a browser without JavaScript, sees a valid certificate, masked.
    const stranger = await browser.newContext({ javaScriptEnabled: false });
    const scan = await stranger.newPage();
    await scan.goto(verifyUrl!);
    await expect(scan.getByRole('heading', { name: '审验证明核验' })).toBeVisible();
    await expect(scan.getByText('证明有效')).toBeVisible();
    await expect(scan.getByText(p.name[0] + '*')).toBeVisible();
    await expect(scan.getByText(p.name, { exact: true })).toHaveCount(0);
    await scan.goto(verifyUrl!.replace(/[0-9a-f]{4}$/, '0000'));
    await expect(scan.getByText('未找到该审验证明，证明无效')).toBeVisible();
    await stranger.close();
  });
});

test.describe('审验学习 status check', () => {
  for (const { slot, message } of STUDY_CASES) {
    test(`slot ${slot} is told ${message.source}`, async ({ page }, testInfo) => {
      const p = personFor(testInfo, slot);
      await signInLinked(page, 'icbc', uid(testInfo, `study-${slot}`), p);
      await page.getByRole('link', { name: '审验学习' }).click();
      await expect(page.getByRole('heading', { name: '审验学习' })).toBeVisible();
      await expect(page.getByText(message)).toBeVisible();
      await expect(page.getByRole('link', { name: '开始答题' })).toHaveCount(0);
      await page.goto('/study/quiz');
      await expect(page.getByText(message)).toBeVisible();
    });
  }

  test('a driver who has not passed 实名认证 is sent there', async ({ page }, testInfo) => {
    await signIn(page, 'wechat', uid(testInfo, 'study-anon'));
    await page.goto('/study');
    await expect(page.getByText('审验学习需要先完成实名认证，以便核对您的驾驶证信息和记分情况。')).toBeVisible();
    await ready(page);
    await page.getByRole('link', { name: '去实名认证' }).click();
    await expect(page.getByRole('heading', { name: '实名认证' })).toBeVisible();
  });
});
