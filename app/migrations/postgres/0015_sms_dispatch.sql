-- Issue 18 item 3. The production SMS outbox: a message is written here inside the transaction of the request that
-- sends it (a rolled-back request sends nothing), and a dispatcher on each app instance sends it through the vendor.
-- `due_at` is when the next instance may take it: a claim moves it past the claim's lease, so a message held by a
-- dispatcher that died becomes due again; `attempts` counts claims and fences a stale holder out of the outcome.
-- `params` (the template's parameters, a JSON array, which can hold a code) is cleared once the message is settled.
CREATE TABLE sms_dispatch (
    id          BIGSERIAL PRIMARY KEY,
    phone       TEXT NOT NULL,
    template    TEXT NOT NULL,
    params      TEXT,
    state       TEXT NOT NULL DEFAULT 'queued',
    attempts    BIGINT NOT NULL DEFAULT 0,
    due_at      BIGINT NOT NULL,
    holder      TEXT,
    created_at  BIGINT NOT NULL,
    settled_at  BIGINT,
    vendor_ref  TEXT,
    error       TEXT
);
CREATE INDEX sms_dispatch_due ON sms_dispatch (state, due_at);
CREATE INDEX sms_dispatch_settled ON sms_dispatch (settled_at);
