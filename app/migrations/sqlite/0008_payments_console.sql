-- The console's payment screens: who settled an exception, and indexes for the order list and the daily statement.
ALTER TABLE payment_exceptions ADD COLUMN settled_by TEXT;
CREATE INDEX payment_exceptions_open ON payment_exceptions (settled_at, created_at);
CREATE INDEX payment_orders_created_at ON payment_orders (created_at);
CREATE INDEX sandbox_orders_paid_at ON sandbox_orders (paid_at);
