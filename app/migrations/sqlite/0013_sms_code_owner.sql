-- Issue 16 item 7. A code belongs to the session that asked for it, and its limits count per asking client, so a
-- stranger's requests for a driver's number neither replace the driver's code nor use up the driver's hour.
-- Codes issued before this have no owner and can no longer be entered; they expire within minutes anyway.
ALTER TABLE sms_codes ADD COLUMN session_hash TEXT;
ALTER TABLE sms_codes ADD COLUMN client TEXT;
CREATE INDEX sms_codes_owner ON sms_codes (phone, purpose, session_hash);
