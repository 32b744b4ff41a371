-- Issue 16. The sandbox gateway learns each order's expiry (as WeChat Pay's time_expire) and can close an order,
-- so the app can end an order at the gateway before it opens a replacement. Orders registered before this carry
-- the app's 15-minute expiry.
ALTER TABLE sandbox_orders ADD COLUMN expires_at BIGINT;
UPDATE sandbox_orders SET expires_at = created_at + 900;
ALTER TABLE sandbox_orders ALTER COLUMN expires_at SET NOT NULL;
ALTER TABLE sandbox_orders DROP CONSTRAINT sandbox_orders_state_check;
ALTER TABLE sandbox_orders ADD CONSTRAINT sandbox_orders_state_check
    CHECK (state IN ('pending', 'paid', 'cancelled', 'closed'));

-- When reconciliation last claimed the order, so instances reconciling at once do not ask about it twice.
ALTER TABLE payment_orders ADD COLUMN checked_at BIGINT;

-- One exception per money movement: the gateway's transaction for an order is recorded once, however often the
-- gateway reports it.
ALTER TABLE payment_exceptions ADD COLUMN txn_id TEXT;
CREATE UNIQUE INDEX payment_exceptions_once ON payment_exceptions (order_no, txn_id);
