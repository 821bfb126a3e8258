/// `outbox.sqlite`, data contract v1 (docs/data-contract.md). Append-only migrations.
enum OutboxSchema {
    static let migrations: [String] = [v1]

    static let v1 = """
    CREATE TABLE outbox_item (
        id               TEXT    PRIMARY KEY,
        created_at       INTEGER NOT NULL,
        call_id          TEXT,
        booking_id       TEXT,
        ehr_system       TEXT    NOT NULL,
        transport        TEXT    NOT NULL CHECK (transport IN ('fhir', 'rest', 'hl7v2')),
        operation        TEXT    NOT NULL,
        request          TEXT    NOT NULL,
        idempotency_key  TEXT    NOT NULL UNIQUE,
        status           TEXT    NOT NULL CHECK (status IN ('pending', 'in_flight', 'succeeded', 'failed', 'dead', 'discarded')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        max_attempts     INTEGER NOT NULL,
        next_attempt_at  INTEGER,
        lease_owner      TEXT,
        lease_until      INTEGER,
        last_error       TEXT,
        last_http_status INTEGER,
        updated_at       INTEGER NOT NULL
    );
    CREATE INDEX outbox_item_by_status ON outbox_item (status, created_at, id);
    CREATE INDEX outbox_item_due ON outbox_item (next_attempt_at) WHERE status IN ('pending', 'failed');
    CREATE INDEX outbox_item_leased ON outbox_item (lease_until) WHERE status = 'in_flight';
    CREATE INDEX outbox_item_by_booking ON outbox_item (booking_id) WHERE booking_id IS NOT NULL;

    CREATE TABLE outbox_attempt (
        item_id     TEXT    NOT NULL REFERENCES outbox_item (id),
        attempt     INTEGER NOT NULL,
        started_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        outcome     TEXT    NOT NULL,
        http_status INTEGER,
        ack_code    TEXT,
        error       TEXT,
        PRIMARY KEY (item_id, attempt)
    ) WITHOUT ROWID;
    """
}
