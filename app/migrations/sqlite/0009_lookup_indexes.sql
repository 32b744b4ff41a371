-- Indexes that city-sized tables need (found by reading every statement's plan at full size, BENCHMARKS.md):
-- 审验学习's outstanding list finds a person's vehicles by owner as well as by card, and the reconciliation page
-- reads one day of paid orders, which the index on state alone (most orders are paid) cannot narrow; the
-- console's list of all card applications reads them newest first.
CREATE INDEX vehicles_owner ON vehicles (owner_id_number);
CREATE INDEX payment_orders_paid ON payment_orders (state, paid_at);
CREATE INDEX card_applications_created_at ON card_applications (created_at);
