-- A card issued from an application waits as 'pending_pickup' until the bank checks the applicant's ID card at
-- 确认领卡.
ALTER TABLE cards DROP CONSTRAINT cards_status_check;
ALTER TABLE cards ADD CONSTRAINT cards_status_check CHECK (status IN ('active', 'cancelled', 'pending_pickup'));

-- Cards approved but not yet handed over were made active before this rule; nobody has shown an ID card for them.
UPDATE cards SET status = 'pending_pickup'
    WHERE status = 'active' AND card_no IN (SELECT card_no FROM card_applications WHERE state = 'made');
