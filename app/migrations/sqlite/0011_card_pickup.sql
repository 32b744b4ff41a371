-- A card issued from an application waits as 'pending_pickup' until the bank checks the applicant's ID card at
-- 确认领卡. SQLite cannot change a CHECK constraint, so the table is rebuilt (nothing references it).
CREATE TABLE cards_new (
    card_no      TEXT PRIMARY KEY,
    id_number    TEXT NOT NULL,
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('active', 'cancelled', 'pending_pickup')),
    updated_at   INTEGER NOT NULL
);
INSERT INTO cards_new (card_no, id_number, name, phone, status, updated_at)
    SELECT card_no, id_number, name, phone, status, updated_at FROM cards;
DROP TABLE cards;
ALTER TABLE cards_new RENAME TO cards;
CREATE INDEX cards_id_number ON cards (id_number);

-- Cards approved but not yet handed over were made active before this rule; nobody has shown an ID card for them.
UPDATE cards SET status = 'pending_pickup'
    WHERE status = 'active' AND card_no IN (SELECT card_no FROM card_applications WHERE state = 'made');
