-- Issue 16. The sandbox gateway learns each order's expiry (as WeChat Pay's time_expire) and can close an order,
-- so the app can end an order at the gateway before it opens a replacement. SQLite cannot alter a CHECK, so the
-- table is rebuilt; orders registered before this carry the app's 15-minute expiry.
CREATE TABLE sandbox_orders_new (
    order_no     TEXT PRIMARY KEY,
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    subject      TEXT NOT NULL,
    notify_url   TEXT NOT NULL,
    return_url   TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'paid', 'cancelled', 'closed')),
    txn_id       TEXT UNIQUE,
    created_at   INTEGER NOT NULL,
    paid_at      INTEGER,
    expires_at   INTEGER NOT NULL
);
INSERT INTO sandbox_orders_new (order_no, amount_fen, subject, notify_url, return_url, state, txn_id, created_at,
                                paid_at, expires_at)
    SELECT order_no, amount_fen, subject, notify_url, return_url, state, txn_id, created_at, paid_at, created_at + 900
    FROM sandbox_orders;
DROP TABLE sandbox_orders;
ALTER TABLE sandbox_orders_new RENAME TO sandbox_orders;
CREATE INDEX sandbox_orders_paid_at ON sandbox_orders (paid_at);

-- When reconciliation last claimed the order, so instances reconciling at once do not ask about it twice.
ALTER TABLE payment_orders ADD COLUMN checked_at INTEGER;

-- One exception per money movement: the gateway's transaction for an order is recorded once, however often the
-- gateway reports it.
ALTER TABLE payment_exceptions ADD COLUMN txn_id TEXT;
CREATE UNIQUE INDEX payment_exceptions_once ON payment_exceptions (order_no, txn_id);
