/// `audit.sqlite`, data contract v1 (docs/data-contract.md). Migrations are append-only:
/// a change is a new entry here and a `user_version` bump, never an edit of an old one.
enum AuditSchema {
    static let migrations: [String] = [v1, v2]

    /// The oldest version a read-only open accepts without migrating: v2 only adds a
    /// table, which readers look for before they read it.
    static let readableFrom = 1

    static let v1 = """
    CREATE TABLE audit_event (
        seq           INTEGER PRIMARY KEY,
        at            INTEGER NOT NULL,
        actor         TEXT    NOT NULL,
        call_id       TEXT,
        action        TEXT    NOT NULL,
        ehr_system    TEXT,
        transport     TEXT    CHECK (transport IN ('fhir', 'rest', 'hl7v2')),
        method        TEXT,
        resource_type TEXT,
        resource_id   TEXT,
        outcome       INTEGER NOT NULL CHECK (outcome IN (0, 4, 8, 12)),
        http_status   INTEGER,
        latency_ms    INTEGER,
        attempt       INTEGER,
        detail        TEXT,
        prev_hash     TEXT    NOT NULL,
        hash          TEXT    NOT NULL
    );
    CREATE INDEX audit_event_by_call ON audit_event (call_id, seq) WHERE call_id IS NOT NULL;
    CREATE INDEX audit_event_by_action ON audit_event (action, seq);
    CREATE INDEX audit_event_by_actor ON audit_event (actor, seq);
    CREATE TRIGGER audit_event_is_append_only_update BEFORE UPDATE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;
    CREATE TRIGGER audit_event_is_append_only_delete BEFORE DELETE ON audit_event
        BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;

    CREATE TABLE call (
        call_id             TEXT PRIMARY KEY,
        started_at          INTEGER NOT NULL,
        ended_at            INTEGER,
        caller              TEXT,
        patient_ref         TEXT,
        intent              TEXT,
        outcome             TEXT,
        first_call_resolved INTEGER,
        summary             TEXT
    );
    CREATE INDEX call_by_start ON call (started_at, call_id);
    CREATE INDEX call_in_progress ON call (started_at, call_id) WHERE ended_at IS NULL;

    CREATE TABLE booking (
        booking_id          TEXT PRIMARY KEY,
        call_id             TEXT,
        kind                TEXT    NOT NULL CHECK (kind IN ('book', 'reschedule', 'cancel')),
        appointment_ref     TEXT    NOT NULL,
        appointment_version TEXT,
        patient_ref         TEXT,
        patient_display     TEXT,
        provider_ref        TEXT,
        appointment_type    TEXT,
        start_at            INTEGER NOT NULL,
        end_at              INTEGER NOT NULL,
        booked_at           INTEGER NOT NULL,
        review_required     INTEGER NOT NULL DEFAULT 0,
        flags               TEXT    NOT NULL DEFAULT '[]',
        -- 0 until a review_decision exists; kept by the triggers below (never written by
        -- hand) so "undecided first, oldest first" is one index range, not an anti-join.
        decided             INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX booking_review_queue ON booking (decided, booked_at, booking_id) WHERE review_required = 1;
    CREATE INDEX booking_by_call ON booking (call_id);

    CREATE TABLE review_decision (
        booking_id TEXT    NOT NULL UNIQUE REFERENCES booking (booking_id),
        decision   TEXT    NOT NULL CHECK (decision IN ('approved', 'corrected')),
        category   TEXT,
        note       TEXT,
        operator   TEXT    NOT NULL,
        decided_at INTEGER NOT NULL,
        before     TEXT,
        after      TEXT
    );
    CREATE TRIGGER review_decision_marks_booking AFTER INSERT ON review_decision
        BEGIN UPDATE booking SET decided = 1 WHERE booking_id = NEW.booking_id; END;
    CREATE TRIGGER review_decision_undo_unmarks_booking AFTER DELETE ON review_decision
        BEGIN UPDATE booking SET decided = 0 WHERE booking_id = OLD.booking_id; END;
    """
}

extension AuditSchema {
    /// v2: signed checkpoints of the chain's head (docs/data-contract.md, "Checkpoints").
    /// Written by the agent every N rows and every minute; never updated or deleted.
    static let v2 = """
    CREATE TABLE audit_checkpoint (
        seq       INTEGER NOT NULL,
        hash      TEXT    NOT NULL,
        at        INTEGER NOT NULL,
        closing   INTEGER NOT NULL DEFAULT 0,
        key_id    TEXT    NOT NULL,
        signature TEXT    NOT NULL
    );
    CREATE INDEX audit_checkpoint_by_seq ON audit_checkpoint (seq);
    CREATE TRIGGER audit_checkpoint_is_append_only_update BEFORE UPDATE ON audit_checkpoint
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END;
    CREATE TRIGGER audit_checkpoint_is_append_only_delete BEFORE DELETE ON audit_checkpoint
        BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END;
    """
}
