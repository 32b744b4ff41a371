-- The development sandbox payment gateway's own orders: the gateway's side of each payment, kept apart from the
-- app's payment records as a real gateway's would be.
CREATE TABLE sandbox_orders (
    order_no     TEXT PRIMARY KEY,
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    subject      TEXT NOT NULL,
    notify_url   TEXT NOT NULL,
    return_url   TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'paid', 'cancelled')),
    txn_id       TEXT UNIQUE,
    created_at   INTEGER NOT NULL,
    paid_at      INTEGER
);
