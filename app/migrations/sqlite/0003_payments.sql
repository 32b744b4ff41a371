-- Payment orders: one open order per decision at a time; an order keeps its amount until it closes.
CREATE TABLE payment_orders (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_no      TEXT NOT NULL UNIQUE,
    decision_no   TEXT NOT NULL,
    account_id    INTEGER,
    channel       TEXT NOT NULL,
    fine_fen      INTEGER NOT NULL,
    late_fee_fen  INTEGER NOT NULL,
    amount_fen    INTEGER NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('open', 'paid', 'cancelled', 'expired')),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    paid_at       INTEGER,
    txn_id        TEXT,
    receipt_no    TEXT UNIQUE
);
CREATE UNIQUE INDEX payment_orders_one_open ON payment_orders (decision_no) WHERE state = 'open';
CREATE INDEX payment_orders_state ON payment_orders (state, created_at);
CREATE INDEX payment_orders_account ON payment_orders (account_id);

-- Money that arrived but could not be applied: for an operator to settle (refund or correct).
CREATE TABLE payment_exceptions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_no      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    amount_fen    INTEGER NOT NULL,
    detail        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    settled_at    INTEGER,
    settled_note  TEXT
);

-- Notification nonces already accepted, so a replayed notification changes nothing.
CREATE TABLE payment_nonces (
    nonce    TEXT PRIMARY KEY,
    seen_at  INTEGER NOT NULL
);
