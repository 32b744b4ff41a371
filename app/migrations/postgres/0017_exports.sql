-- Exports to the systems of record and the authority of their files (issue 20).
-- One row per export run: the watermark of its kind is the newest run (export_watermarks).
CREATE TABLE export_runs (
    id     BIGSERIAL PRIMARY KEY,
    kind   TEXT NOT NULL CHECK (kind IN ('decisions', 'payments', 'unbindings', 'cards')),
    at     BIGINT NOT NULL,
    since  BIGINT,
    row_count BIGINT NOT NULL
);

-- What the app did that a system of record must learn: a decision made (subject decision_no), a fine paid
-- (order_no), a vehicle unbound by its driver (plate/plate_type, related the card it left), a card issued or handed
-- over (card_no, related its application). Written in the change's own transaction with export_run NULL; an export claims every unclaimed row
-- of its kind, so a row whose transaction commits late is claimed by the next run and none is skipped.
-- acknowledged_at: when a police or bank file exported after the row's export showed it (decisions, unbindings).
CREATE TABLE exchange_events (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('decisions', 'payments', 'unbindings', 'cards')),
    subject          TEXT NOT NULL,
    related          TEXT,
    status           TEXT,
    occurred_at      BIGINT NOT NULL,
    export_run       BIGINT REFERENCES export_runs (id),
    acknowledged_at  BIGINT
);
CREATE INDEX exchange_events_unclaimed ON exchange_events (kind) WHERE export_run IS NULL;
CREATE INDEX exchange_events_run ON exchange_events (export_run);
CREATE INDEX exchange_events_time ON exchange_events (kind, occurred_at);
CREATE INDEX exchange_events_subject ON exchange_events (kind, subject);

-- The newest run of each kind; it only moves forward.
CREATE TABLE export_watermarks (
    kind      TEXT PRIMARY KEY,
    last_run  BIGINT NOT NULL REFERENCES export_runs (id),
    at        BIGINT NOT NULL
);
