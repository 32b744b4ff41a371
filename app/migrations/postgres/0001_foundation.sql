-- Times are epoch seconds (UTC); dates are ISO text (YYYY-MM-DD, Asia/Shanghai); money is integer fen.
CREATE TABLE cards (
    card_no      TEXT PRIMARY KEY,
    id_number    TEXT NOT NULL,
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    updated_at   BIGINT NOT NULL
);
CREATE INDEX cards_id_number ON cards (id_number);

CREATE TABLE drivers (
    id_number      TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    licence_class  TEXT NOT NULL,
    licence_status TEXT NOT NULL,
    first_issued   TEXT NOT NULL,
    cycle_points   BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE vehicles (
    plate            TEXT NOT NULL,
    plate_type       TEXT NOT NULL,
    vehicle_type     TEXT NOT NULL,
    owner_id_number  TEXT NOT NULL,
    card_no          TEXT,
    bound_at         BIGINT,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (plate, plate_type)
);
CREATE INDEX vehicles_card_no ON vehicles (card_no);

CREATE TABLE violations (
    record_no        TEXT PRIMARY KEY,
    plate            TEXT NOT NULL,
    plate_type       TEXT NOT NULL,
    occurred_at      BIGINT NOT NULL,
    location         TEXT NOT NULL,
    code             TEXT NOT NULL,
    behaviour        TEXT NOT NULL,
    points           BIGINT NOT NULL,
    fine_fen         BIGINT NOT NULL,
    counter_only     BIGINT NOT NULL,
    decision_no      TEXT UNIQUE,
    decided_on       TEXT,
    party_id_number  TEXT,
    paid             BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX violations_vehicle ON violations (plate, plate_type);
CREATE INDEX violations_party ON violations (party_id_number);

CREATE TABLE accounts (
    id            BIGSERIAL PRIMARY KEY,
    channel       TEXT NOT NULL,
    platform_uid  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (channel, platform_uid)
);

-- An account's link to a person; unbinding keeps the row for the audit trail.
CREATE TABLE realname_bindings (
    id          BIGSERIAL PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    id_number   TEXT NOT NULL,
    name        TEXT NOT NULL,
    card_no     TEXT NOT NULL,
    phone       TEXT NOT NULL,
    bound_at    BIGINT NOT NULL,
    unbound_at  BIGINT
);
CREATE UNIQUE INDEX realname_bindings_one_active ON realname_bindings (account_id) WHERE unbound_at IS NULL;

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    account_id  BIGINT REFERENCES accounts (id),
    channel     TEXT NOT NULL,
    flash       TEXT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE sms_codes (
    id          BIGSERIAL PRIMARY KEY,
    phone       TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    used_at     BIGINT
);
CREATE INDEX sms_codes_phone ON sms_codes (phone, created_at);

-- The dev SMS provider's outbox; production uses a real gateway and never writes here.
CREATE TABLE sms_outbox (
    id          BIGSERIAL PRIMARY KEY,
    phone       TEXT NOT NULL,
    body        TEXT NOT NULL,
    sent_at     BIGINT NOT NULL
);
CREATE INDEX sms_outbox_phone ON sms_outbox (phone);

CREATE TABLE user_consents (
    account_id  BIGINT NOT NULL REFERENCES accounts (id),
    notice      TEXT NOT NULL,
    agreed_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, notice)
);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    channel     TEXT,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
