//! 缴款订单与对账 in the operators' console (issue 5): the order list and its filters, the CSV export, the daily
//! reconciliation against the sandbox gateway's statement, settling exceptions, and who may do what.

use app::console::auth::add_staff;
use app::console::model::Role;
use app::domain::CivilDate;
use app::platform::config::DEV_PAYMENT_SECRET;
use app::platform::gateway::PaymentGateway;
use sandbox::SandboxClient;
use sqlx::Row;

use crate::support::{Browser, TestApp, ZHANG_SAN};

const OVERDUE: &str = "2102021000015367";
/// 违反规定停放: 0 points, 200 yuan, always processable online.
const PARKING: &str = "210200202610230003";
/// Red light: 6 points, 200 yuan; 张三's 4 + 6 stays under 12.
const RED_LIGHT: &str = "210200202609170001";
const PASSWORD: &str = "long-password-123";

/// A console browser signed in as a new staff member.
pub(crate) async fn staff(app: &TestApp, username: &str, role: Role) -> Browser {
    add_staff(&app.db, username, role, PASSWORD, "test").await.unwrap();
    let browser = app.browser();
    let page = browser.submit("/api/staff_login", &[("username", username), ("password", PASSWORD)]).await;
    assert!(page.contains(username) && page.contains(role.label()), "{username} signs in: {page}");
    browser
}

/// Processes one of 张三's untreated records and returns its decision number.
async fn decide(app: &TestApp, browser: &Browser, record_no: &str) -> String {
    browser.submit("/api/violations_agree", &[]).await;
    browser.submit("/api/process_record", &[("record_no", record_no)]).await;
    sqlx::query("SELECT decision_no FROM violations WHERE record_no = $1")
        .bind(record_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get::<Option<String>, _>(0)
        .expect("the record is decided")
}

/// Presses 确认缴费 for what the confirmation page shows; returns the order number at the cashier.
async fn to_cashier(browser: &Browser, decision_no: &str) -> (String, String) {
    let page = browser.get(&format!("/fines/pay?no={decision_no}")).await;
    let marker = "name=\"total_fen\" value=\"";
    let start = page.find(marker).expect("a 确认缴费 form") + marker.len();
    let total = page[start..].split('"').next().unwrap().to_string();
    let response = browser.post("/api/start_payment", &[("decision_no", decision_no), ("total_fen", &total)]).await;
    let cashier = response.url().to_string();
    let order_no = cashier.rsplit('/').next().unwrap().to_string();
    (cashier, order_no)
}

/// Pays a decision end to end through the sandbox's cashier; returns the order number.
async fn pay(browser: &Browser, decision_no: &str) -> String {
    let (cashier, order_no) = to_cashier(browser, decision_no).await;
    let result = browser.client.post(format!("{cashier}/pay")).send().await.unwrap().text().await.unwrap();
    assert!(result.contains("缴费成功"), "{result}");
    order_no
}

/// The orders every test starts from: one paid in 微信, one paid in 融e联, one left open in 微信.
struct Orders {
    wechat_paid: String,
    icbc_paid: String,
    wechat_open: String,
}

async fn make_orders(app: &TestApp) -> Orders {
    let wechat = app.linked_browser("wechat", "console-w", &ZHANG_SAN).await;
    let parking = decide(app, &wechat, PARKING).await;
    let wechat_paid = pay(&wechat, &parking).await;
    let icbc = app.linked_browser("icbc", "console-i", &ZHANG_SAN).await;
    let icbc_paid = pay(&icbc, OVERDUE).await;
    let red_light = decide(app, &wechat, RED_LIGHT).await;
    let (_, wechat_open) = to_cashier(&wechat, &red_light).await;
    Orders { wechat_paid, icbc_paid, wechat_open }
}

async fn amount(app: &TestApp, order_no: &str) -> i64 {
    sqlx::query("SELECT amount_fen FROM payment_orders WHERE order_no = $1")
        .bind(order_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

fn yuan(fen: i64) -> String {
    app::domain::Fen::new(fen).to_string()
}

fn today() -> CivilDate {
    CivilDate::shanghai_today_from_epoch(app::platform::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_payments_list_filters_by_state_channel_and_date() {
    for (db, app) in TestApp::each_with_demo().await {
        let orders = make_orders(&app).await;
        let bank = staff(&app, "bank1", Role::Bank).await;
        let paid_sum = yuan(amount(&app, &orders.wechat_paid).await + amount(&app, &orders.icbc_paid).await);

        let all = bank.get("/console/payments").await;
        for order_no in [&orders.wechat_paid, &orders.icbc_paid, &orders.wechat_open] {
            assert!(all.contains(order_no.as_str()), "{db}: lists {order_no}");
        }
        assert!(all.contains(&format!("共3笔订单，其中已支付2笔，合计{paid_sum}元")), "{db}: {all}");
        for label in ["已支付", "待支付", "微信", "融e联", "导出CSV", "状态", "渠道", "日期从"] {
            assert!(all.contains(label), "{db}: shows {label}");
        }
        let newest_first = all.find(orders.wechat_open.as_str()) < all.find(orders.wechat_paid.as_str());
        assert!(newest_first, "{db}: newest first");

        let paid = bank.get("/console/payments?state=paid").await;
        assert!(paid.contains(orders.wechat_paid.as_str()) && paid.contains(orders.icbc_paid.as_str()), "{db}");
        assert!(!paid.contains(orders.wechat_open.as_str()), "{db}: only paid orders");
        assert!(paid.contains("href=\"/console/payments.csv?state=paid\""), "{db}: the export keeps the filter");

        let icbc = bank.get("/console/payments?channel=icbc").await;
        assert!(icbc.contains(orders.icbc_paid.as_str()), "{db}");
        assert!(!icbc.contains(orders.wechat_paid.as_str()) && !icbc.contains(orders.wechat_open.as_str()), "{db}");

        let day = today();
        let today_only = bank.get(&format!("/console/payments?from={day}&to={day}&channel=wechat&state=open")).await;
        assert!(today_only.contains(orders.wechat_open.as_str()), "{db}");
        assert!(today_only.contains("共1笔订单，其中已支付0笔，合计0.00元"), "{db}");
        assert!(
            today_only.contains(&format!(
                "href=\"/console/payments.csv?state=open&amp;channel=wechat&amp;from={day}&amp;to={day}\""
            )),
            "{db}: {today_only}"
        );
        let tomorrow = bank.get(&format!("/console/payments?from={}", day.checked_add_days(1).unwrap())).await;
        assert!(tomorrow.contains("没有符合条件的订单") && !tomorrow.contains(orders.wechat_paid.as_str()), "{db}");
        let yesterday = bank.get(&format!("/console/payments?to={}", day.checked_add_days(-1).unwrap())).await;
        assert!(yesterday.contains("共0笔订单"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_payments_csv_has_the_rows_a_bom_and_no_formulas() {
    for (db, app) in TestApp::each_with_demo().await {
        let orders = make_orders(&app).await;
        // A record whose text would run as a formula in Excel, and one with a comma and quotes.
        sqlx::query(
            "INSERT INTO payment_orders (order_no, decision_no, account_id, channel, fine_fen, late_fee_fen, \
             amount_fen, state, created_at, expires_at, paid_at, txn_id) \
             VALUES ('PFORMULA1', '@SUM(A1)', NULL, 'icbc', 100, 0, 100, 'paid', $1, $1, $1, $2)",
        )
        .bind(app::platform::now())
        .bind("=HYPERLINK(\"http://evil.example\",\"x\")")
        .execute(app.db.pool())
        .await
        .unwrap();
        let bank = staff(&app, "bank1", Role::Bank).await;

        let response = bank.client.get(format!("{}/console/payments.csv?state=paid", app.base)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{db}");
        let header = |name: &str| response.headers().get(name).unwrap().to_str().unwrap().to_string();
        assert_eq!(header("content-type"), "text/csv; charset=utf-8", "{db}");
        let disposition = header("content-disposition");
        assert!(disposition.starts_with("attachment; filename=\"payments-") && disposition.ends_with(".csv\""), "{db}");
        assert_eq!(header("cache-control"), "no-store", "{db}");
        let bytes = response.bytes().await.unwrap();
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "{db}: a UTF-8 BOM for Excel");
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines[0],
            "订单号,决定书编号,渠道,状态,罚款金额（元）,加处罚款（元）,应缴金额（元）,创建时间,支付时间,交易流水号,凭证号",
            "{db}"
        );
        assert_eq!(lines.len(), 4, "{db}: header and three paid orders: {text}");
        let icbc = lines.iter().find(|l| l.starts_with(orders.icbc_paid.as_str())).expect("the 融e联 order");
        let icbc_amount = yuan(amount(&app, &orders.icbc_paid).await);
        assert!(icbc.contains(",融e联,已支付,200.00,") && icbc.contains(&format!(",{icbc_amount},")), "{db}");
        let wechat = lines.iter().find(|l| l.starts_with(orders.wechat_paid.as_str())).expect("the 微信 order");
        assert!(wechat.contains(",微信,已支付,200.00,0.00,200.00,"), "{db}: {wechat}");
        assert!(wechat.contains(&format!(",{} ", today())), "{db}: Asia/Shanghai dates: {wechat}");
        assert!(!text.contains(orders.wechat_open.as_str()), "{db}: the filter holds");
        let formula = lines.iter().find(|l| l.starts_with("PFORMULA1")).expect("the formula row");
        assert!(formula.contains(",'@SUM(A1),"), "{db}: {formula}");
        assert!(formula.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","), "{db}: {formula}");

        let wechat_only = bank.get("/console/payments.csv?channel=wechat").await;
        assert!(wechat_only.contains(orders.wechat_open.as_str()), "{db}");
        assert!(!wechat_only.contains(orders.icbc_paid.as_str()) && !wechat_only.contains("PFORMULA1"), "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_payments_reconciliation_matches_the_gateway_and_lists_every_difference() {
    for (db, app) in TestApp::each_with_demo().await {
        let orders = make_orders(&app).await;
        let bank = staff(&app, "bank1", Role::Bank).await;
        let day = today();
        // The app dates a payment by the gateway's time, so both sides put it on the same day.
        for order_no in [&orders.wechat_paid, &orders.icbc_paid] {
            let app_paid: i64 = sqlx::query("SELECT paid_at FROM payment_orders WHERE order_no = $1")
                .bind(order_no)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
                .get(0);
            let gateway_paid: i64 = sqlx::query("SELECT paid_at FROM sandbox_orders WHERE order_no = $1")
                .bind(order_no)
                .fetch_one(app.db.pool())
                .await
                .unwrap()
                .get(0);
            assert_eq!(app_paid, gateway_paid, "{db}");
        }
        let gateway = SandboxClient::new(app.sandbox.clone(), app.sandbox.clone(), DEV_PAYMENT_SECRET.as_bytes());
        let statement = gateway.daily_statement(day).await.unwrap();
        let mut listed: Vec<&str> = statement.iter().map(|l| l.order_no.as_str()).collect();
        listed.sort();
        let mut paid = vec![orders.wechat_paid.as_str(), orders.icbc_paid.as_str()];
        paid.sort();
        assert_eq!(listed, paid, "{db}: the gateway's statement over real HTTP");
        let forged = SandboxClient::new(app.sandbox.clone(), app.sandbox.clone(), b"not-the-secret".as_slice());
        assert!(forged.daily_statement(day).await.is_err(), "{db}: the statement needs a signed request");

        let icbc_amount = yuan(amount(&app, &orders.icbc_paid).await);
        let page = bank.get("/console/payments/reconciliation").await;
        assert!(page.contains(&format!("value=\"{day}\"")), "{db}: today by default");
        assert!(page.contains("全部一致") && page.contains("无差异订单"), "{db}: {page}");
        for figure in ["平台笔数", "网关笔数", "差异笔数", "200.00", icbc_amount.as_str()] {
            assert!(page.contains(figure), "{db}: shows {figure}");
        }
        assert!(!page.contains("未识别订单"), "{db}");

        // The payer paid the open order, but the notification never came; and a payment the app never opened.
        sqlx::query("UPDATE sandbox_orders SET state = 'paid', txn_id = 'SBXMISSED', paid_at = $1 WHERE order_no = $2")
            .bind(app::platform::now())
            .bind(&orders.wechat_open)
            .execute(app.db.pool())
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO sandbox_orders (order_no, amount_fen, subject, notify_url, return_url, state, txn_id, \
             created_at, paid_at, expires_at) VALUES ('PSTRANGER1', 777, 's', 'http://x', 'http://x', 'paid', 'SBXSTRANGE', $1, $1, \
             $1 + 900)",
        )
        .bind(app::platform::now())
        .execute(app.db.pool())
        .await
        .unwrap();
        let page = bank.get(&format!("/console/payments/reconciliation?date={day}")).await;
        assert!(page.contains("存在差异"), "{db}: {page}");
        let missed = page.find(orders.wechat_open.as_str()).expect("the missed payment is listed");
        assert!(page[missed..].contains("网关已收款，平台未记为已支付"), "{db}");
        assert!(page.contains("SBXMISSED") && page.contains("待支付"), "{db}: with the app's state");
        assert!(page.contains("PSTRANGER1") && page.contains("平台无此订单") && page.contains("未识别订单"), "{db}");
        assert!(page.contains("7.77"), "{db}");
        assert!(!page.contains(&format!("<td>{}</td>", orders.icbc_paid)), "{db}: matching orders are not differences");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_payments_reconciliation_days_turn_over_at_shanghai_midnight() {
    for (db, app) in TestApp::each().await {
        let bank = staff(&app, "bank1", Role::Bank).await;
        // 2026-01-31 23:59:59 and 2026-02-01 00:00:00 in Dalian, i.e. 15:59:59 and 16:00:00 UTC on 31 January.
        let (last_second, midnight) = (1_769_875_199_i64, 1_769_875_200_i64);
        for (order_no, paid_at) in [("PLATE1", last_second), ("PEARLY1", midnight)] {
            sqlx::query(
                "INSERT INTO sandbox_orders (order_no, amount_fen, subject, notify_url, return_url, state, txn_id, \
                 created_at, paid_at, expires_at) VALUES ($1, 100, 's', 'http://x', 'http://x', 'paid', $2, $3, $3, $3 + 900)",
            )
            .bind(order_no)
            .bind(format!("T{order_no}"))
            .bind(paid_at)
            .execute(app.db.pool())
            .await
            .unwrap();
        }
        for (order_no, at) in [("PAPPLATE", last_second), ("PAPPEARLY", midnight)] {
            sqlx::query(
                "INSERT INTO payment_orders (order_no, decision_no, channel, fine_fen, late_fee_fen, amount_fen, \
                 state, created_at, expires_at, paid_at, txn_id) VALUES ($1, $1, 'wechat', 100, 0, 100, 'paid', $2, $2, $2, $1)",
            )
            .bind(order_no)
            .bind(at)
            .execute(app.db.pool())
            .await
            .unwrap();
        }
        let jan31 = bank.get("/console/payments/reconciliation?date=2026-01-31").await;
        assert!(jan31.contains("PLATE1") && !jan31.contains("PEARLY1"), "{db}: {jan31}");
        assert!(jan31.contains("PAPPLATE") && !jan31.contains("PAPPEARLY"), "{db}");
        assert!(jan31.contains("平台已支付，网关账单无此笔"), "{db}");
        let feb1 = bank.get("/console/payments/reconciliation?date=2026-02-01").await;
        assert!(feb1.contains("PEARLY1") && !feb1.contains("PLATE1"), "{db}");
        assert!(feb1.contains("PAPPEARLY") && !feb1.contains("PAPPLATE"), "{db}");
        let orders = bank.get("/console/payments?from=2026-01-31&to=2026-01-31").await;
        assert!(orders.contains("PAPPLATE") && !orders.contains("PAPPEARLY"), "{db}: by the day in Dalian");
        let next_day = bank.get("/console/payments?from=2026-02-01&to=2026-02-01").await;
        assert!(next_day.contains("PAPPEARLY") && !next_day.contains("PAPPLATE"), "{db}");
    }
}

async fn insert_exception(app: &TestApp, order_no: &str, kind: &str, created_at: i64) -> i64 {
    sqlx::query(
        "INSERT INTO payment_exceptions (order_no, kind, amount_fen, detail, created_at) VALUES ($1, $2, 19999, $3, $4)",
    )
    .bind(order_no)
    .bind(kind)
    .bind(format!("test {kind}"))
    .bind(created_at)
    .execute(app.db.pool())
    .await
    .unwrap();
    sqlx::query("SELECT id FROM payment_exceptions WHERE order_no = $1")
        .bind(order_no)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0)
}

async fn settlement(app: &TestApp, id: i64) -> (Option<i64>, Option<String>, Option<String>) {
    let row = sqlx::query("SELECT settled_at, settled_note, settled_by FROM payment_exceptions WHERE id = $1")
        .bind(id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_payments_an_exception_is_settled_once_with_its_note_and_an_audit_row() {
    for (db, app) in TestApp::each().await {
        let now = app::platform::now();
        let older = insert_exception(&app, "PWRONG1", "wrong_amount", now - 60).await;
        let newer = insert_exception(&app, "PUNKNOWN1", "unknown_order", now).await;
        let bank = staff(&app, "bank1", Role::Bank).await;

        let page = bank.get("/console/payments/exceptions").await;
        for text in ["金额不符", "未知订单", "标记已处理", "处理说明", "199.99元", "支付异常（2笔待处理）"]
        {
            assert!(page.contains(text), "{db}: shows {text}");
        }
        let short = bank.submit("/api/settle_payment_exception", &[("id", &older.to_string()), ("note", " 退 ")]).await;
        assert!(short.contains("处理说明应为2至200个字"), "{db}: {short}");
        assert_eq!(settlement(&app, older).await.0, None, "{db}: a too short note settles nothing");

        let note = "已原路退款，退款单号 RF001";
        let done = bank.submit("/api/settle_payment_exception", &[("id", &older.to_string()), ("note", note)]).await;
        assert!(done.contains("已标记为已处理") && done.contains(note), "{db}: {done}");
        let (at, saved, by) = settlement(&app, older).await;
        assert!(at.is_some_and(|at| at >= now), "{db}");
        assert_eq!((saved.as_deref(), by.as_deref()), (Some(note), Some("bank1")), "{db}");
        let audit =
            sqlx::query("SELECT actor, subject, detail FROM audit_log WHERE action = 'payment.exception.settle'")
                .fetch_all(app.db.pool())
                .await
                .unwrap();
        assert_eq!(audit.len(), 1, "{db}");
        assert_eq!(audit[0].get::<String, _>(0), "staff:bank1", "{db}");
        assert_eq!(audit[0].get::<String, _>(1), "PWRONG1", "{db}");
        assert!(audit[0].get::<String, _>(2).contains(note), "{db}");

        let again =
            bank.submit("/api/settle_payment_exception", &[("id", &older.to_string()), ("note", "另一个说明")]).await;
        assert!(again.contains("该异常已由他人处理"), "{db}: {again}");
        assert_eq!(settlement(&app, older).await, (at, saved, by), "{db}: a second settle changes nothing");
        let audits = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.exception.settle'").await;
        assert_eq!(audits, 1, "{db}: and writes no second audit row");

        let page = bank.get("/console/payments/exceptions").await;
        assert!(page.contains("支付异常（1笔待处理）"), "{db}");
        let (unsettled, settled) = (page.find("PUNKNOWN1").unwrap(), page.find("PWRONG1").unwrap());
        assert!(unsettled < settled, "{db}: unsettled first although older is settled");
        assert_eq!(settlement(&app, newer).await.0, None, "{db}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_payments_orders_waiting_too_long_are_queried_at_the_gateway() {
    for (db, app) in TestApp::each_with_demo().await {
        let zhang = app.linked_browser("icbc", "waiting", &ZHANG_SAN).await;
        let (_, order_no) = to_cashier(&zhang, OVERDUE).await;
        let bank = staff(&app, "bank1", Role::Bank).await;
        let page = bank.get("/console/payments/exceptions").await;
        assert!(page.contains("等待过久（0笔）") && !page.contains("向网关查询"), "{db}: a fresh order is not late");

        // Paid at the gateway 40 minutes ago; the notification never arrived.
        let paid_at = app::platform::now() - 2300;
        sqlx::query("UPDATE payment_orders SET created_at = created_at - 2400, expires_at = expires_at - 2400")
            .execute(app.db.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE sandbox_orders SET state = 'paid', txn_id = 'SBXLATE', paid_at = $1 WHERE order_no = $2")
            .bind(paid_at)
            .bind(&order_no)
            .execute(app.db.pool())
            .await
            .unwrap();
        let page = bank.get("/console/payments/exceptions").await;
        assert!(page.contains("等待过久（1笔）") && page.contains(order_no.as_str()), "{db}: {page}");
        assert!(page.contains("向网关查询"), "{db}");

        let auditor = staff(&app, "audit1", Role::Auditor).await;
        let seen = auditor.get("/console/payments/exceptions").await;
        assert!(seen.contains(order_no.as_str()) && !seen.contains("向网关查询"), "{db}: auditors only read");
        auditor.post("/api/query_waiting_orders", &[]).await;
        assert_eq!(app.count("SELECT COUNT(*) FROM payment_orders WHERE state = 'open'").await, 1, "{db}: refused");

        let done = bank.submit("/api/query_waiting_orders", &[]).await;
        assert!(
            done.contains("已向网关查询1笔等待过久的订单：1笔已结清（1笔已支付，0笔已关闭），0笔仍待支付"),
            "{db}: {done}"
        );
        assert!(done.contains("等待过久（0笔）"), "{db}");
        let paid: i64 = sqlx::query("SELECT paid FROM violations WHERE decision_no = $1")
            .bind(OVERDUE)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(paid, 1, "{db}: the fine is paid from the gateway's answer");
        let recorded: i64 = sqlx::query("SELECT paid_at FROM payment_orders WHERE order_no = $1")
            .bind(&order_no)
            .fetch_one(app.db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(recorded, paid_at, "{db}: dated when the gateway took the money, not when the app learnt it");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_payments_are_for_bank_operators_and_auditors_only() {
    for (db, app) in TestApp::each_with_demo().await {
        let orders = make_orders(&app).await;
        let id = insert_exception(&app, "PWRONG1", "wrong_amount", app::platform::now()).await;
        let pages = ["/console/payments", "/console/payments/reconciliation", "/console/payments/exceptions"];
        let csv = format!("{}/console/payments.csv", app.base);

        let bank = staff(&app, "bank1", Role::Bank).await;
        for path in pages {
            let page = bank.get(path).await;
            assert!(!page.contains("您的角色无权进行此操作") && !page.contains("请先登录管理后台"), "{db}: {path}");
        }
        assert!(bank.get("/console/payments/exceptions").await.contains("标记已处理"), "{db}");

        let auditor = staff(&app, "audit1", Role::Auditor).await;
        assert!(auditor.get("/console/payments").await.contains(orders.wechat_paid.as_str()), "{db}");
        let reconciliation = auditor.get("/console/payments/reconciliation").await;
        assert!(reconciliation.contains("全部一致"), "{db}");
        let exceptions = auditor.get("/console/payments/exceptions").await;
        assert!(exceptions.contains("金额不符") && exceptions.contains("审计员只读"), "{db}");
        assert!(!exceptions.contains("标记已处理") && !exceptions.contains("<textarea"), "{db}: no settle form");
        assert_eq!(auditor.client.get(&csv).send().await.unwrap().status(), 200, "{db}: auditors may export");

        let police = staff(&app, "police1", Role::Police).await;
        let driver = app.linked_browser("icbc", "console-driver", &ZHANG_SAN).await;
        let nobody = app.browser();
        for (who, browser, message, csv_status) in [
            ("police", &police, "您的角色无权进行此操作", 403),
            ("driver", &driver, "请先登录管理后台", 401),
            ("nobody", &nobody, "请先登录管理后台", 401),
        ] {
            for path in pages {
                let page = browser.get(path).await;
                assert!(page.contains(message), "{db}: {who} at {path}: {page}");
                assert!(!page.contains(orders.wechat_paid.as_str()) && !page.contains("PWRONG1"), "{db}: {who}");
            }
            let response = browser.client.get(&csv).send().await.unwrap();
            assert_eq!(response.status(), csv_status, "{db}: {who}");
            assert!(!response.text().await.unwrap().contains(orders.wechat_paid.as_str()), "{db}: {who}");
        }

        for (who, browser) in [("auditor", &auditor), ("police", &police), ("driver", &driver), ("nobody", &nobody)] {
            browser.post("/api/settle_payment_exception", &[("id", &id.to_string()), ("note", "越权处理")]).await;
            assert_eq!(settlement(&app, id).await.0, None, "{db}: {who} cannot settle");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'payment.exception.settle'").await, 0);
    }
}
