-- My page: one document per reservation, rebuilt from events only.
CREATE TABLE IF NOT EXISTS mypage (
    reservation_id VARCHAR(64) NOT NULL PRIMARY KEY,
    customer_id VARCHAR(64),
    created_at BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    document TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS mypage_customer ON mypage (customer_id, created_at)
