-- Reservations: one row per aggregate, written with optimistic concurrency on `version`.
-- Portable across SQLite and PostgreSQL.
CREATE TABLE IF NOT EXISTS reservations (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    device_model TEXT NOT NULL,
    country TEXT NOT NULL,
    rental_date TEXT NOT NULL,
    return_date TEXT NOT NULL,
    booth TEXT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    payment_id TEXT,
    failure_reason TEXT,
    cancel_refused_reason TEXT,
    handed_out INTEGER NOT NULL,
    payment_unconfirmed INTEGER NOT NULL,
    idempotency_key TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS reservations_idempotency ON reservations (customer_id, idempotency_key);
CREATE INDEX IF NOT EXISTS reservations_customer ON reservations (customer_id, created_at);
CREATE INDEX IF NOT EXISTS reservations_pending ON reservations (status, updated_at);
