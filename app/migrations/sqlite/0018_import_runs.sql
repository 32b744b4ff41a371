-- A console upload's import while it runs (issue 20): the progress line its page shows, written about once a
-- second by the instance running it, so any instance can show it; one per staff session (session_hash, the
-- staff_sessions token hash whose message the outcome becomes). finished_at is set once the outcome is stored
-- as the staff member's message; a row not updated for a minute belongs to an instance that stopped.
CREATE TABLE import_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id    INTEGER NOT NULL REFERENCES staff (id),
    session_hash TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    progress    TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER
);
-- One running import per staff session at a time.
CREATE UNIQUE INDEX import_runs_running ON import_runs (session_hash) WHERE finished_at IS NULL;
