-- Issue 18. Refunds of the payment exceptions that call for one: a bank operator's 退款 sends the money the gateway
-- took back to the payer. One refund per exception (exception_id is unique), so a double click or two operators
-- cannot refund twice; the state follows the gateway's answer, its notification or reconciliation's query.
CREATE TABLE payment_refunds (
    id                 BIGSERIAL PRIMARY KEY,
    refund_no          TEXT NOT NULL UNIQUE,
    exception_id       BIGINT NOT NULL UNIQUE,
    order_no           TEXT NOT NULL,
    txn_id             TEXT NOT NULL,
    channel            TEXT NOT NULL,
    amount_fen         BIGINT NOT NULL CHECK (amount_fen > 0),
    reason             TEXT NOT NULL,
    -- Where the gateway posts the result, kept so reconciliation can resend a request the gateway never received.
    notify_url         TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('PROCESSING', 'SUCCEEDED', 'FAILED')),
    gateway_refund_id  TEXT,
    failure            TEXT,
    requested_by       TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    succeeded_at       BIGINT,
    -- When reconciliation last claimed the refund, so instances reconciling at once do not ask about it twice.
    checked_at         BIGINT
);
CREATE INDEX payment_refunds_processing ON payment_refunds (state, checked_at);

-- The sandbox gateway's side of each refund, apart from the app's records as a real gateway's would be.
CREATE TABLE sandbox_refunds (
    refund_no     TEXT PRIMARY KEY,
    order_no      TEXT NOT NULL,
    refund_id     TEXT NOT NULL UNIQUE,
    amount_fen    BIGINT NOT NULL CHECK (amount_fen > 0),
    reason        TEXT NOT NULL,
    notify_url    TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('processing', 'succeeded')),
    created_at    BIGINT NOT NULL,
    succeeded_at  BIGINT
);
CREATE INDEX sandbox_refunds_order ON sandbox_refunds (order_no);
