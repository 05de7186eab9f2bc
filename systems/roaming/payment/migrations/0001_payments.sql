-- Payments: one per reservation (the idempotency key). Portable across SQLite and MariaDB.
CREATE TABLE IF NOT EXISTS payments (
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    reservation_id VARCHAR(64) NOT NULL UNIQUE,
    customer_id VARCHAR(64) NOT NULL,
    amount BIGINT NOT NULL,
    card_last4 VARCHAR(4),
    status VARCHAR(16) NOT NULL,
    decline_reason VARCHAR(64),
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
)
