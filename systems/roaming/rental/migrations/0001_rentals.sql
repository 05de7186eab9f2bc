-- Rentals at the booths: one per reservation.
CREATE TABLE IF NOT EXISTS rentals (
    reservation_id VARCHAR(64) NOT NULL PRIMARY KEY,
    customer_id VARCHAR(64) NOT NULL,
    booth VARCHAR(16) NOT NULL,
    device_model VARCHAR(64) NOT NULL,
    rental_date VARCHAR(10) NOT NULL,
    return_date VARCHAR(10) NOT NULL,
    status VARCHAR(16) NOT NULL,
    device_serial VARCHAR(64),
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS rentals_queue ON rentals (booth, status, rental_date)
