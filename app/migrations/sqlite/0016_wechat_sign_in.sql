-- Issue 18 item 1. WeChat's unionid, when the official account is bound to an open platform, is kept beside the
-- openid: it names the same person across the owner's apps. The sign-in states (`state` of OAuth) live here, not
-- only in the browser's cookie, so each is used once on whichever instance the callback reaches: a second use of
-- the same callback URL is refused even with the cookie. `provider` says who started it (`dev` or `platform`).
ALTER TABLE accounts ADD COLUMN platform_unionid TEXT;
CREATE TABLE sign_in_states (
    state_hash  TEXT PRIMARY KEY,
    channel     TEXT NOT NULL,
    provider    TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX sign_in_states_expiry ON sign_in_states (expires_at);
