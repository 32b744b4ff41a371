import { expect, test } from '@playwright/test';

// The production walk: APP_ENV=production with the real providers, each pointed at its loopback fake.
// Settings come from the fakes' env file (scripts/smoke-production.sh exports it).
const WECHAT_UA =
  'Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.50.2701(0x2800323B) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN';
const SMS_INBOX = process.env.FAKE_SMS_INBOX_URL!;
const JSAPI_PAY = process.env.FAKE_WECHATPAY_JSAPI_URL!;
const ZHANG = { name: '张三', idNumber: '210202198503121234', card: '6222023400001013', phone: '13804110001' };

test.use({ userAgent: WECHAT_UA });

test('WeChat sign-in, 实名认证, 缴费 through WeChat Pay JSAPI, a verified notification and the receipt', async ({
  page,
  request,
}) => {
  // WeChat's JS bridge, as the WeChat webview injects it: getBrandWCPayRequest goes to the fake WeChat Pay, which
  // checks paySign, takes the money and sends its encrypted notification to the app.
  await page.exposeFunction('fakeWechatPay', async (params: unknown) => {
    const answer = await request.post(JSAPI_PAY, { data: params });
    return (await answer.json()) as { err_msg: string };
  });
  await page.addInitScript(() => {
    const w = window as unknown as Record<string, unknown>;
    w.WeixinJSBridge = {
      invoke(name: string, params: unknown, callback: (r: { err_msg: string }) => void) {
        if (name !== 'getBrandWCPayRequest') return callback({ err_msg: `${name}:fail` });
        (w.fakeWechatPay as (p: unknown) => Promise<{ err_msg: string }>)(params).then(callback);
      },
    };
    document.addEventListener('DOMContentLoaded', () => document.dispatchEvent(new Event('WeixinJSBridgeReady')));
  });

  // 公众号网页授权: the menu's entry goes through open.weixin.qq.com (the fake) and back with a code.
  await page.goto('/auth/wechat');
  // The browser keeps the authorize URL's #wechat_redirect fragment through the redirects back, as WeChat's does.
  await expect(page).toHaveURL(/\/(#wechat_redirect)?$/);
  await expect(page.getByRole('link', { name: /实名认证/ }).first()).toBeVisible();

  await page.goto('/realname');
  await page.getByLabel('姓名', { exact: true }).fill(ZHANG.name);
  await page.getByLabel('身份证号', { exact: true }).fill(ZHANG.idNumber);
  await page.getByLabel('交通服务卡卡号', { exact: true }).fill(ZHANG.card);
  await page.getByLabel('手机号', { exact: true }).fill(ZHANG.phone);
  const before = await inbox(request, ZHANG.phone);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await expect(page.getByText('验证码已发送至')).toBeVisible();
  // The code goes out through the outbox's dispatcher to the fake Tencent Cloud SMS.
  let code = '';
  await expect
    .poll(async () => {
      const messages = await inbox(request, ZHANG.phone);
      code = messages.length > before.length ? messages[messages.length - 1] : '';
      return code;
    })
    .toMatch(/^\d{6}$/);
  await page.getByLabel('短信验证码', { exact: true }).fill(code);
  await page.getByRole('button', { name: '提交认证' }).click();
  await expect(page.getByText('实名认证成功')).toBeVisible();

  await page.goto('/');
  await page.getByRole('link', { name: '交通违法缴罚' }).click();
  await page.getByRole('link', { name: '交通罚款缴纳' }).click();
  await page.getByRole('link', { name: '缴费', exact: true }).first().click();
  await expect(page.getByRole('heading', { name: '缴费确认' })).toBeVisible();
  await page.getByRole('button', { name: '确认缴费' }).click();

  // The JSAPI page starts WeChat Pay by itself and goes to the result once the bridge answers.
  await expect(page.getByRole('heading', { name: '缴费成功' })).toBeVisible({ timeout: 30_000 });
  await page.getByRole('link', { name: '电子缴款凭证' }).click();
  await expect(page.getByRole('heading', { name: '电子缴款凭证' })).toBeVisible();
  await expect(page.getByText('微信支付').first()).toBeVisible();
});

/** The verification codes the fake Tencent Cloud SMS received for `phone`, oldest first. */
async function inbox(request: import('@playwright/test').APIRequestContext, phone: string): Promise<string[]> {
  const answer = await request.get(`${SMS_INBOX}?phone=${phone}`);
  expect(answer.ok()).toBeTruthy();
  const messages = (await answer.json()) as { params: string[] }[];
  return messages.map((m) => m.params[0]);
}
