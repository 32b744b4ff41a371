-- Payment orders: one open order per decision at a time; an order keeps its amount until it closes.
CREATE TABLE payment_orders (
    id            BIGSERIAL PRIMARY KEY,
    order_no      TEXT NOT NULL UNIQUE,
    decision_no   TEXT NOT NULL,
    account_id    BIGINT,
    channel       TEXT NOT NULL,
    fine_fen      BIGINT NOT NULL,
    late_fee_fen  BIGINT NOT NULL,
    amount_fen    BIGINT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('open', 'paid', 'cancelled', 'expired')),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    paid_at       BIGINT,
    txn_id        TEXT,
    receipt_no    TEXT UNIQUE
);
CREATE UNIQUE INDEX payment_orders_one_open ON payment_orders (decision_no) WHERE state = 'open';
CREATE INDEX payment_orders_state ON payment_orders (state, created_at);
CREATE INDEX payment_orders_account ON payment_orders (account_id);

-- Money that arrived but could not be applied: for an operator to settle (refund or correct).
CREATE TABLE payment_exceptions (
    id            BIGSERIAL PRIMARY KEY,
    order_no      TEXT NOT NULL,
    kind          TEXT NOT NULL,
    amount_fen    BIGINT NOT NULL,
    detail        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    settled_at    BIGINT,
    settled_note  TEXT
);

-- Notification nonces already accepted, so a replayed notification changes nothing.
CREATE TABLE payment_nonces (
    nonce    TEXT PRIMARY KEY,
    seen_at  BIGINT NOT NULL
);
