-- 审验学习 (SPEC §4): the imported question bank and course catalogue, each person's study in one scoring cycle,
-- the server's record of every course's progress, and the certificates issued.
CREATE TABLE study_questions (
    code        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    stem        TEXT NOT NULL,
    -- The choices of a single-choice question, one per line; empty for true/false.
    options     TEXT NOT NULL,
    -- A, B, C or D; T or F.
    answer      TEXT NOT NULL,
    explanation TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE study_courses (
    code             TEXT PRIMARY KEY,
    position         BIGINT NOT NULL,
    title            TEXT NOT NULL,
    summary          TEXT NOT NULL,
    -- Video source URLs, separated by |.
    video            TEXT NOT NULL,
    required_seconds BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);

-- One person's study in one scoring cycle.
CREATE TABLE study_enrolments (
    id           BIGSERIAL PRIMARY KEY,
    id_number    TEXT NOT NULL,
    cycle_start  TEXT NOT NULL,
    -- The drawn question codes, comma separated, and the answers given in the same order.
    questions    TEXT NOT NULL,
    answers      TEXT,
    score        BIGINT,
    quiz_done_at BIGINT,
    -- The one player allowed to study now; a newer player replaces it.
    lease        TEXT,
    lease_course TEXT,
    created_at   BIGINT NOT NULL,
    UNIQUE (id_number, cycle_start)
);

-- Progress in milliseconds, credited only from heartbeats.
CREATE TABLE study_progress (
    enrolment_id BIGINT NOT NULL REFERENCES study_enrolments (id),
    course_code  TEXT NOT NULL,
    credited_ms  BIGINT NOT NULL,
    furthest_ms  BIGINT NOT NULL,
    position_ms  BIGINT NOT NULL,
    beat_at_ms   BIGINT NOT NULL,
    completed_at BIGINT,
    PRIMARY KEY (enrolment_id, course_code)
);

CREATE TABLE study_certificates (
    cert_no       TEXT PRIMARY KEY,
    verify_code   TEXT NOT NULL UNIQUE,
    enrolment_id  BIGINT NOT NULL UNIQUE REFERENCES study_enrolments (id),
    id_number     TEXT NOT NULL,
    name          TEXT NOT NULL,
    licence_class TEXT NOT NULL,
    cycle_start   TEXT NOT NULL,
    cycle_end     TEXT NOT NULL,
    study_seconds BIGINT NOT NULL,
    issued_at     BIGINT NOT NULL
);
