//! The trade bill (`/v3/bill/tradebill`): a CSV file whose every field is prefixed with a backtick, amounts in
//! yuan with two decimals, times in Asia/Shanghai, and a two-line summary after the orders.

use app::platform::gateway::StatementLine;

/// Why a bill file could not be read; the line is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trade bill line {line}: {reason}")]
pub struct BillError {
    pub line: usize,
    pub reason: String,
}

/// The successful payments of a bill file. Columns are found by their header names, so the `ALL` and `SUCCESS`
/// bills (which differ in columns) read alike; refund rows and the summary are left out.
pub fn parse(file: &str) -> Result<Vec<StatementLine>, BillError> {
    let mut lines = file.lines().enumerate().map(|(i, l)| (i + 1, l.trim_start_matches('\u{feff}').trim_end()));
    let (_, header) = lines.next().ok_or(BillError { line: 1, reason: "the file is empty".into() })?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |name: &str| {
        columns.iter().position(|c| *c == name).ok_or(BillError { line: 1, reason: format!("no column {name}") })
    };
    let (at, txn, order, state) = (find("交易时间")?, find("微信订单号")?, find("商户订单号")?, find("交易状态")?);
    let amount = find("订单金额").or_else(|_| find("应结订单金额"))?;
    let mut payments = Vec::new();
    for (number, line) in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with("总交易单数") {
            break;
        }
        let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_start_matches('`')).collect();
        let field = |i: usize| {
            fields.get(i).copied().ok_or(BillError { line: number, reason: format!("only {} fields", fields.len()) })
        };
        if field(state)? != "SUCCESS" {
            continue;
        }
        let bad = |reason: String| BillError { line: number, reason };
        payments.push(StatementLine {
            order_no: field(order)?.to_string(),
            txn_id: field(txn)?.to_string(),
            amount_fen: yuan_to_fen(field(amount)?).ok_or_else(|| bad(format!("bad amount {:?}", field(amount))))?,
            paid_at: shanghai_epoch(field(at)?).ok_or_else(|| bad(format!("bad time {:?}", field(at))))?,
        });
    }
    Ok(payments)
}

/// `12.34` → 1234 fen, exactly: no floating point between the bill and the ledger.
fn yuan_to_fen(text: &str) -> Option<i64> {
    let (yuan, fen) = text.split_once('.').unwrap_or((text, "00"));
    if yuan.is_empty() || !yuan.bytes().all(|b| b.is_ascii_digit()) || fen.len() != 2 {
        return None;
    }
    if !fen.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    yuan.parse::<i64>().ok()?.checked_mul(100)?.checked_add(fen.parse::<i64>().ok()?)
}

/// `2026-12-02 14:40:22` in Asia/Shanghai → epoch seconds.
fn shanghai_epoch(text: &str) -> Option<i64> {
    let local = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").ok()?;
    Some(local.and_utc().timestamp() - 8 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,\
付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,\
手续费,费率,订单金额,申请退款金额,费率备注";

    fn row(time: &str, txn: &str, order: &str, state: &str, amount: &str) -> String {
        format!(
            "`{time},`wx0000000000000001,`1900000109,`0,`,`{txn},`{order},`oUser,`JSAPI,`{state},`CMC,`CNY,`{amount},\
`0.00,`0,`0,`0.00,`0.00,`,`,`交通违法罚款,`,`0.00000,`0.60%,`{amount},`0.00,`"
        )
    }

    #[test]
    fn successful_payments_are_read_in_fen_and_shanghai_time() {
        let file = format!(
            "{HEADER}\n{}\n{}\n{}\n总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n\
`2,`200.50,`0.00,`0.00,`0.00000,`200.50,`0.00\n",
            row("2026-12-02 14:40:22", "4200001", "DL1", "SUCCESS", "200.00"),
            row("2026-12-02 15:00:00", "4200002", "DL2", "REFUND", "50.00"),
            row("2026-12-02 00:00:01", "4200003", "DL3", "SUCCESS", "0.50"),
        );
        let lines = parse(&file).unwrap();
        assert_eq!(lines.len(), 2, "the refund row is not a payment");
        assert_eq!(
            (lines[0].order_no.as_str(), lines[0].txn_id.as_str(), lines[0].amount_fen),
            ("DL1", "4200001", 20000)
        );
        // 2026-12-02 14:40:22 +08:00 is 06:40:22 UTC.
        assert_eq!(lines[0].paid_at, 1_796_193_622);
        assert_eq!(lines[1].amount_fen, 50);
    }

    #[test]
    fn a_malformed_row_is_named_by_its_line() {
        let file = format!("{HEADER}\n{}\n", row("2026-12-02 14:40:22", "4200001", "DL1", "SUCCESS", "2.5"));
        assert_eq!(parse(&file).unwrap_err().line, 2);
        assert_eq!(parse("交易时间,商户订单号\n").unwrap_err().line, 1);
        assert!(yuan_to_fen("-1.00").is_none() && yuan_to_fen("1.2a").is_none() && yuan_to_fen("").is_none());
        assert_eq!(yuan_to_fen("123456.78"), Some(12_345_678));
    }
}
