-- 申办交通服务卡 (SPEC §2H): the ICBC Dalian branches a card can be collected at, and the applications.
CREATE TABLE branches (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    address  TEXT NOT NULL,
    position BIGINT NOT NULL
);

INSERT INTO branches (code, name, address, position) VALUES
    ('DL-ZS', '工商银行大连中山支行', '大连市中山区', 1),
    ('DL-XG', '工商银行大连西岗支行', '大连市西岗区', 2),
    ('DL-SHK', '工商银行大连沙河口支行', '大连市沙河口区', 3),
    ('DL-GJZ', '工商银行大连甘井子支行', '大连市甘井子区', 4),
    ('DL-LSK', '工商银行大连旅顺口支行', '大连市旅顺口区', 5),
    ('DL-JZ', '工商银行大连金州支行', '大连市金州区', 6),
    ('DL-KFQ', '工商银行大连开发区分行', '大连经济技术开发区', 7),
    ('DL-GXQ', '工商银行大连高新园区支行', '大连高新技术产业园区', 8);

CREATE TABLE card_applications (
    id             BIGSERIAL PRIMARY KEY,
    application_no TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    phone          TEXT NOT NULL,
    -- Declared plates, comma separated (0 to 3).
    plates         TEXT NOT NULL,
    branch_code    TEXT NOT NULL REFERENCES branches (code),
    state          TEXT NOT NULL CHECK (state IN ('submitted', 'reviewing', 'made', 'collected', 'rejected')),
    reason         TEXT,
    card_no        TEXT,
    -- The platform account that applied, when signed in.
    account_id     BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
-- At most one application in progress per person.
CREATE UNIQUE INDEX card_applications_one_active ON card_applications (id_number)
    WHERE state IN ('submitted', 'reviewing', 'made');
CREATE INDEX card_applications_state ON card_applications (state, created_at);
CREATE INDEX card_applications_account ON card_applications (account_id);

-- Named counters, e.g. the next card number of the configured range.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
