-- The hourly purge (platform::housekeeping) finds rows past their use through these, oldest first.
CREATE INDEX staff_sessions_expires_at ON staff_sessions (expires_at);
CREATE INDEX sms_codes_created_at ON sms_codes (created_at);
CREATE INDEX rate_limits_window_start ON rate_limits (window_start);
CREATE INDEX payment_nonces_seen_at ON payment_nonces (seen_at);
