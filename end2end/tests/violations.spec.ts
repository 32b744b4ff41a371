import { expect, test } from '@playwright/test';
import { OVERDUE_SLOT } from '../people';
import { personFor, ready, signInLinked, uid, WECHAT_UA } from './helpers';

for (const { channel, slot, userAgent } of [
  { channel: 'icbc' as const, slot: 40, userAgent: undefined },
  { channel: 'wechat' as const, slot: 46, userAgent: WECHAT_UA },
]) {
  test.describe(`the guide's path in ${channel}`, () => {
    if (userAgent) test.use({ userAgent });

    test('知晓并同意, process the red light, pay it later from 交通罚款缴纳, see the receipt', async ({ page }, testInfo) => {
      const p = personFor(testInfo, slot);
      await signInLinked(page, channel, uid(testInfo, 'process'), p);
      if (channel === 'wechat') await page.getByRole('link', { name: '交通违法缴罚' }).click();
      await page.getByRole('link', { name: '交通违法处理' }).click();
      await expect(page.getByRole('heading', { name: '使用须知' })).toBeVisible();
      await ready(page);
      await page.getByRole('button', { name: '知晓并同意' }).click();
      await expect(page.getByText('请选择要查询的绑定车辆')).toBeVisible();
      await ready(page);

      await page.getByRole('link', { name: new RegExp(p.plate) }).click();
      await expect(page.getByText('驾驶机动车违反道路交通信号灯通行的')).toBeVisible();
      await expect(page.getByText(/该违法需到交警大队窗口处理/)).toBeVisible();
      await expect(page.getByRole('link', { name: '处理', exact: true })).toHaveCount(1);
      await ready(page);
      await page.getByRole('link', { name: '处理', exact: true }).click();

      await expect(page.getByRole('heading', { name: '违法详情' })).toBeVisible();
      await expect(page.getByText('中山路与五四路交叉口')).toBeVisible();
      await expect(page.getByText('1625')).toBeVisible();
      await expect(page.getByText('6分')).toBeVisible();
      await expect(page.getByText('200.00元')).toBeVisible();
      await expect(page.getByRole('img', { name: '违法证据照片' })).toBeVisible();
      await ready(page);
      await page.getByRole('button', { name: '接受处理' }).click();

      await expect(page.getByRole('heading', { name: '处理结果' })).toBeVisible();
      await expect(page.getByText('处理成功，已生成处罚决定书')).toBeVisible();
      const decisionNo = (await page.getByText(/^2102\d{12}$/).textContent())!.trim();
      await expect(page.getByText('距缴费截止还有15天')).toBeVisible();
      await expect(page.getByRole('link', { name: '缴费', exact: true })).toBeVisible();

      await page.getByRole('link', { name: '返回车辆列表' }).click();
      await ready(page);
      await page.getByRole('link', { name: new RegExp(p.plate) }).click();
      await expect(page.getByText('驾驶机动车违反道路交通信号灯通行的')).toHaveCount(0);
      await expect(page.getByRole('link', { name: '处理', exact: true })).toHaveCount(0);

      await page.goto('/');
      if (channel === 'wechat') await page.getByRole('link', { name: '交通违法缴罚' }).click();
      await page.getByRole('link', { name: '交通罚款缴纳' }).click();
      await expect(page.getByText(decisionNo)).toBeVisible();
      await expect(page.getByText('应缴金额')).toBeVisible();
      await ready(page);
      await page.getByRole('link', { name: '缴费', exact: true }).click();

      await expect(page.getByRole('heading', { name: '缴费确认' })).toBeVisible();
      await expect(page.getByText('本次缴费金额')).toBeVisible();
      await ready(page);
      await page.getByRole('button', { name: '确认缴费' }).click();
      await expect(page.getByText('收银台')).toBeVisible();
      await expect(page.getByText('¥200.00')).toBeVisible();
      await page.getByRole('button', { name: '确认支付' }).click();

      await expect(page.getByRole('heading', { name: '缴费成功' })).toBeVisible();
      await ready(page);
      await page.getByRole('link', { name: '电子缴款凭证' }).click();
      await expect(page.getByRole('heading', { name: '电子缴款凭证' })).toBeVisible();
      await expect(page.getByText(decisionNo)).toBeVisible();
      await expect(page.getByText('200.00元').first()).toBeVisible();

      await page.goto('/fines');
      await expect(page.getByText('您目前车辆无违法记录')).toBeVisible();
      await expect(page.getByRole('link', { name: /查看凭证/ })).toBeVisible();
    });
  });
}

test.describe('交通违法处理 in 融e联', () => {

  test('cancelling at the cashier leaves the fine unpaid and payable again', async ({ page }, testInfo) => {
    const p = personFor(testInfo, 43);
    await signInLinked(page, 'icbc', uid(testInfo, 'cancel'), p);
    await page.goto('/violations');
    await ready(page);
    await page.getByRole('button', { name: '知晓并同意' }).click();
    await expect(page.getByText('请选择要查询的绑定车辆')).toBeVisible();
    await page.goto(`/violations/record?no=${p.payableRecord}`);
    await ready(page);
    await page.getByRole('button', { name: '接受处理' }).click();
    await expect(page.getByRole('heading', { name: '处理结果' })).toBeVisible();
    await ready(page);
    await page.getByRole('link', { name: '缴费', exact: true }).click();
    await ready(page);
    await page.getByRole('button', { name: '确认缴费' }).click();
    await page.getByRole('button', { name: '取消支付' }).click();
    await expect(page.getByRole('heading', { name: '已取消支付' })).toBeVisible();
    await page.goto('/fines');
    await expect(page.getByRole('link', { name: '缴费', exact: true })).toBeVisible();
  });

  test('an overdue fine shows and charges its 加处罚款', async ({ page }, testInfo) => {
    const p = personFor(testInfo, OVERDUE_SLOT);
    await signInLinked(page, 'icbc', uid(testInfo, 'overdue'), p);
    await page.getByRole('link', { name: '交通罚款缴纳' }).click();
    // Fixture: a 100-yuan decision made 20 days ago, so 5 days overdue: 15% = 15.00 yuan.
    await expect(page.getByText(p.overdueDecision)).toBeVisible();
    await expect(page.getByText('已逾期5天，每日加处罚款3%')).toBeVisible();
    await expect(page.getByText('15.00元', { exact: true })).toBeVisible();
    await expect(page.getByText('115.00元', { exact: true }).first()).toBeVisible();
    await ready(page);
    await page.getByRole('link', { name: '缴费', exact: true }).click();
    await ready(page);
    await page.getByRole('button', { name: '确认缴费' }).click();
    await expect(page.getByText('¥115.00')).toBeVisible();
    await page.getByRole('button', { name: '确认支付' }).click();
    await expect(page.getByRole('heading', { name: '缴费成功' })).toBeVisible();
    await ready(page);
    await page.getByRole('link', { name: '电子缴款凭证' }).click();
    await expect(page.getByText('15.00元', { exact: true })).toBeVisible();
    await expect(page.getByText('115.00元', { exact: true }).first()).toBeVisible();
  });

  test('交通罚款缴纳 with nothing decided says 您目前车辆无违法记录', async ({ page }, testInfo) => {
    const p = personFor(testInfo, 42);
    await signInLinked(page, 'icbc', uid(testInfo, 'no-fines'), p);
    await page.getByRole('link', { name: '交通罚款缴纳' }).click();
    await expect(page.getByText('您目前车辆无违法记录')).toBeVisible();
  });
});

test.describe('已绑定车辆信息 in WeChat', () => {
  test.use({ userAgent: WECHAT_UA });

  test('解除绑定 asks first; afterwards the car and its records are gone', async ({ page }, testInfo) => {
    const p = personFor(testInfo, 41);
    await signInLinked(page, 'wechat', uid(testInfo, 'unbind-car'), p);
    await page.getByRole('link', { name: '交通违法缴罚' }).click();
    await page.getByRole('link', { name: '已绑定车辆信息' }).click();
    await expect(page.getByText(p.plate)).toBeVisible();
    await expect(page.getByText(`****${p.card.slice(-4)}`)).toBeVisible();
    await ready(page);
    await page.getByRole('link', { name: '解除绑定' }).click();
    await expect(page.getByText('确定解除该车辆的绑定吗？')).toBeVisible();
    await ready(page);
    await page.getByRole('button', { name: '确认解除绑定' }).click();
    await expect(page.getByText(`已解除车辆 ${p.plate} 与交通服务卡的绑定`)).toBeVisible();
    await expect(page.getByText('您的交通服务卡暂未绑定车辆')).toBeVisible();
  });
});
