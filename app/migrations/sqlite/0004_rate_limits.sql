-- Fixed-window counters shared by every instance (guest lookups and other abuse-prone requests).
CREATE TABLE rate_limits (
    bucket        TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    hits          INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
