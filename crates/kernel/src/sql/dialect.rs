//! The SQL text of the kernel's tables, once per database dialect.

/// Statements the kernel runs, written for one dialect. Named by the public `Flavor` trait, but
/// opaque: nothing outside the kernel can reach or build one.
#[doc(hidden)]
#[allow(unreachable_pub, missing_docs)]
pub struct Dialect {
    pub schema: &'static [&'static str],
    /// The aggregate store's tables (documents, keys, counters).
    pub documents: &'static [&'static str],
    pub outbox_insert: &'static str,
    pub outbox_unpublished: &'static str,
    /// `UPDATE ... WHERE position IN (` — the caller appends the placeholders and `)`.
    pub outbox_mark_prefix: &'static str,
    pub outbox_backlog: &'static str,
    pub outbox_purge: &'static str,
    pub inbox_insert: &'static str,
    pub inbox_purge: &'static str,
    pub lease_renew: &'static str,
    pub lease_insert: &'static str,
    pub dead_letter_insert: &'static str,
    pub dead_letter_list: &'static str,
    pub dead_letter_get: &'static str,
    pub dead_letter_mark_replayed: &'static str,
    pub dead_letter_count: &'static str,
    pub migration_applied: &'static str,
    pub migration_record: &'static str,
    /// Creates a counter unless it exists: name, key, amount.
    pub counter_define: &'static str,
    /// Every key of a counter with its amount (`amount`, then the key as text).
    pub counters_read: &'static str,
    /// Placeholder for parameter `n` (1-based).
    pub placeholder: fn(usize) -> String,
}

/// The aggregate store's tables on SQLite and PostgreSQL (the same text for both).
const TEXT_DOCUMENTS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS msa_aggregates (
            kind TEXT NOT NULL,
            id TEXT NOT NULL,
            version BIGINT NOT NULL,
            state TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (kind, id)
        )",
    "CREATE TABLE IF NOT EXISTS msa_keys (
            kind TEXT NOT NULL,
            key_name TEXT NOT NULL,
            key_value TEXT NOT NULL,
            id TEXT NOT NULL,
            score BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (kind, key_name, key_value, id)
        )",
    "CREATE TABLE IF NOT EXISTS msa_unique_keys (
            kind TEXT NOT NULL,
            key_name TEXT NOT NULL,
            key_value TEXT NOT NULL,
            id TEXT NOT NULL,
            PRIMARY KEY (kind, key_name, key_value)
        )",
    "CREATE TABLE IF NOT EXISTS msa_counters (
            counter TEXT NOT NULL,
            counter_key TEXT NOT NULL,
            amount BIGINT NOT NULL,
            PRIMARY KEY (counter, counter_key)
        )",
];

/// The aggregate store's tables on MariaDB / MySQL: key columns compare bytes.
const MYSQL_DOCUMENTS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS msa_aggregates (
            kind VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
            id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
            version BIGINT NOT NULL,
            state LONGTEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (kind, id)
        ) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS msa_keys (
            kind VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
            key_name VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
            key_value VARCHAR(400) COLLATE utf8mb4_bin NOT NULL,
            id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
            score BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (kind, key_name, key_value, id)
        ) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS msa_unique_keys (
            kind VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
            key_name VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
            key_value VARCHAR(400) COLLATE utf8mb4_bin NOT NULL,
            id VARCHAR(128) COLLATE utf8mb4_bin NOT NULL,
            PRIMARY KEY (kind, key_name, key_value)
        ) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS msa_counters (
            counter VARCHAR(64) COLLATE utf8mb4_bin NOT NULL,
            counter_key VARCHAR(191) COLLATE utf8mb4_bin NOT NULL,
            amount BIGINT NOT NULL,
            PRIMARY KEY (counter, counter_key)
        ) ENGINE=InnoDB",
];

pub(crate) const SQLITE: Dialect = Dialect {
    schema: &[
        "CREATE TABLE IF NOT EXISTS msa_outbox (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            subject TEXT NOT NULL,
            event_type TEXT NOT NULL,
            envelope TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            published_at INTEGER
        )",
        "CREATE INDEX IF NOT EXISTS msa_outbox_unpublished ON msa_outbox (position) WHERE published_at IS NULL",
        "CREATE TABLE IF NOT EXISTS msa_inbox (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            handled_at INTEGER NOT NULL,
            PRIMARY KEY (consumer, event_id)
        )",
        "CREATE TABLE IF NOT EXISTS msa_dead_letters (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            consumer TEXT NOT NULL,
            event_id TEXT,
            subject TEXT,
            event_type TEXT,
            payload TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            parked_at INTEGER NOT NULL,
            replayed_at INTEGER
        )",
        "CREATE TABLE IF NOT EXISTS msa_leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at INTEGER NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS msa_migrations (
            component TEXT NOT NULL,
            version INTEGER NOT NULL,
            name TEXT NOT NULL,
            applied_at INTEGER NOT NULL,
            PRIMARY KEY (component, version)
        )",
    ],
    documents: TEXT_DOCUMENTS,
    outbox_insert: "INSERT INTO msa_outbox (event_id, subject, event_type, envelope, created_at) VALUES (?, ?, ?, ?, ?)",
    outbox_unpublished: "SELECT position, envelope FROM msa_outbox WHERE published_at IS NULL ORDER BY position LIMIT ?",
    outbox_mark_prefix: "UPDATE msa_outbox SET published_at = ? WHERE position IN (",
    outbox_backlog: "SELECT COUNT(*) FROM msa_outbox WHERE published_at IS NULL",
    outbox_purge: "DELETE FROM msa_outbox WHERE published_at IS NOT NULL AND published_at < ?",
    inbox_insert: "INSERT INTO msa_inbox (consumer, event_id, handled_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    inbox_purge: "DELETE FROM msa_inbox WHERE handled_at < ?",
    lease_renew: "UPDATE msa_leases SET owner = ?, expires_at = ? WHERE name = ? AND (owner = ? OR expires_at < ?)",
    lease_insert: "INSERT INTO msa_leases (name, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    dead_letter_insert: "INSERT INTO msa_dead_letters (consumer, event_id, subject, event_type, payload, error, attempts, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    dead_letter_list: "SELECT id, consumer, event_id, subject, event_type, payload, error, attempts, parked_at, replayed_at FROM msa_dead_letters WHERE consumer = ? ORDER BY id",
    dead_letter_get: "SELECT id, consumer, event_id, subject, event_type, payload, error, attempts, parked_at, replayed_at FROM msa_dead_letters WHERE consumer = ? AND id = ?",
    dead_letter_mark_replayed: "UPDATE msa_dead_letters SET replayed_at = ? WHERE consumer = ? AND id = ?",
    dead_letter_count: "SELECT COUNT(*) FROM msa_dead_letters WHERE consumer = ? AND replayed_at IS NULL",
    migration_applied: "SELECT COUNT(*) FROM msa_migrations WHERE component = ? AND version = ?",
    migration_record: "INSERT INTO msa_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
    counter_define: "INSERT INTO msa_counters (counter, counter_key, amount) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    counters_read: "SELECT amount, counter_key FROM msa_counters WHERE counter = $1",
    placeholder: |_| "?".to_owned(),
};

pub(crate) const POSTGRES: Dialect = Dialect {
    schema: &[
        "CREATE TABLE IF NOT EXISTS msa_outbox (
            position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            subject TEXT NOT NULL,
            event_type TEXT NOT NULL,
            envelope TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            published_at BIGINT
        )",
        "CREATE INDEX IF NOT EXISTS msa_outbox_unpublished ON msa_outbox (position) WHERE published_at IS NULL",
        "CREATE TABLE IF NOT EXISTS msa_inbox (
            consumer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            handled_at BIGINT NOT NULL,
            PRIMARY KEY (consumer, event_id)
        )",
        "CREATE TABLE IF NOT EXISTS msa_dead_letters (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            consumer TEXT NOT NULL,
            event_id TEXT,
            subject TEXT,
            event_type TEXT,
            payload TEXT NOT NULL,
            error TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            parked_at BIGINT NOT NULL,
            replayed_at BIGINT
        )",
        "CREATE TABLE IF NOT EXISTS msa_leases (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            expires_at BIGINT NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS msa_migrations (
            component TEXT NOT NULL,
            version BIGINT NOT NULL,
            name TEXT NOT NULL,
            applied_at BIGINT NOT NULL,
            PRIMARY KEY (component, version)
        )",
    ],
    documents: TEXT_DOCUMENTS,
    outbox_insert: "INSERT INTO msa_outbox (event_id, subject, event_type, envelope, created_at) VALUES ($1, $2, $3, $4, $5)",
    outbox_unpublished: "SELECT position, envelope FROM msa_outbox WHERE published_at IS NULL ORDER BY position LIMIT $1",
    outbox_mark_prefix: "UPDATE msa_outbox SET published_at = $1 WHERE position IN (",
    outbox_backlog: "SELECT COUNT(*) FROM msa_outbox WHERE published_at IS NULL",
    outbox_purge: "DELETE FROM msa_outbox WHERE published_at IS NOT NULL AND published_at < $1",
    inbox_insert: "INSERT INTO msa_inbox (consumer, event_id, handled_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    inbox_purge: "DELETE FROM msa_inbox WHERE handled_at < $1",
    lease_renew: "UPDATE msa_leases SET owner = $1, expires_at = $2 WHERE name = $3 AND (owner = $4 OR expires_at < $5)",
    lease_insert: "INSERT INTO msa_leases (name, owner, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    dead_letter_insert: "INSERT INTO msa_dead_letters (consumer, event_id, subject, event_type, payload, error, attempts, parked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    dead_letter_list: "SELECT id, consumer, event_id, subject, event_type, payload, error, attempts, parked_at, replayed_at FROM msa_dead_letters WHERE consumer = $1 ORDER BY id",
    dead_letter_get: "SELECT id, consumer, event_id, subject, event_type, payload, error, attempts, parked_at, replayed_at FROM msa_dead_letters WHERE consumer = $1 AND id = $2",
    dead_letter_mark_replayed: "UPDATE msa_dead_letters SET replayed_at = $1 WHERE consumer = $2 AND id = $3",
    dead_letter_count: "SELECT COUNT(*) FROM msa_dead_letters WHERE consumer = $1 AND replayed_at IS NULL",
    migration_applied: "SELECT COUNT(*) FROM msa_migrations WHERE component = $1 AND version = $2",
    migration_record: "INSERT INTO msa_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)",
    counter_define: "INSERT INTO msa_counters (counter, counter_key, amount) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    counters_read: "SELECT amount, counter_key FROM msa_counters WHERE counter = $1",
    placeholder: |n| format!("${n}"),
};

pub(crate) const MYSQL: Dialect = Dialect {
    schema: &[
        "CREATE TABLE IF NOT EXISTS msa_outbox (
            position BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            event_id VARCHAR(64) NOT NULL UNIQUE,
            subject VARCHAR(255) NOT NULL,
            event_type VARCHAR(255) NOT NULL,
            envelope LONGTEXT NOT NULL,
            created_at BIGINT NOT NULL,
            published_at BIGINT NULL,
            INDEX msa_outbox_unpublished (published_at, position)
        ) ENGINE=InnoDB",
        "CREATE TABLE IF NOT EXISTS msa_inbox (
            consumer VARCHAR(128) NOT NULL,
            event_id VARCHAR(64) NOT NULL,
            handled_at BIGINT NOT NULL,
            PRIMARY KEY (consumer, event_id)
        ) ENGINE=InnoDB",
        "CREATE TABLE IF NOT EXISTS msa_dead_letters (
            id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
            consumer VARCHAR(128) NOT NULL,
            event_id VARCHAR(64) NULL,
            subject VARCHAR(255) NULL,
            event_type VARCHAR(255) NULL,
            payload LONGTEXT NOT NULL,
            error TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            parked_at BIGINT NOT NULL,
            replayed_at BIGINT NULL
        ) ENGINE=InnoDB",
        "CREATE TABLE IF NOT EXISTS msa_leases (
            name VARCHAR(255) NOT NULL PRIMARY KEY,
            owner VARCHAR(255) NOT NULL,
            expires_at BIGINT NOT NULL
        ) ENGINE=InnoDB",
        "CREATE TABLE IF NOT EXISTS msa_migrations (
            component VARCHAR(128) NOT NULL,
            version BIGINT NOT NULL,
            name VARCHAR(255) NOT NULL,
            applied_at BIGINT NOT NULL,
            PRIMARY KEY (component, version)
        ) ENGINE=InnoDB",
    ],
    documents: MYSQL_DOCUMENTS,
    outbox_insert: "INSERT INTO msa_outbox (event_id, subject, event_type, envelope, created_at) VALUES (?, ?, ?, ?, ?)",
    outbox_unpublished: "SELECT position, envelope FROM msa_outbox WHERE published_at IS NULL ORDER BY position LIMIT ?",
    outbox_mark_prefix: "UPDATE msa_outbox SET published_at = ? WHERE position IN (",
    outbox_backlog: "SELECT COUNT(*) FROM msa_outbox WHERE published_at IS NULL",
    outbox_purge: "DELETE FROM msa_outbox WHERE published_at IS NOT NULL AND published_at < ?",
    inbox_insert: "INSERT IGNORE INTO msa_inbox (consumer, event_id, handled_at) VALUES (?, ?, ?)",
    inbox_purge: "DELETE FROM msa_inbox WHERE handled_at < ?",
    lease_renew: "UPDATE msa_leases SET owner = ?, expires_at = ? WHERE name = ? AND (owner = ? OR expires_at < ?)",
    lease_insert: "INSERT IGNORE INTO msa_leases (name, owner, expires_at) VALUES (?, ?, ?)",
    dead_letter_insert: "INSERT INTO msa_dead_letters (consumer, event_id, subject, event_type, payload, error, attempts, parked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    dead_letter_list: "SELECT id, consumer, event_id, subject, event_type, payload, error, attempts, parked_at, replayed_at FROM msa_dead_letters WHERE consumer = ? ORDER BY id",
    dead_letter_get: "SELECT id, consumer, event_id, subject, event_type, payload, error, attempts, parked_at, replayed_at FROM msa_dead_letters WHERE consumer = ? AND id = ?",
    dead_letter_mark_replayed: "UPDATE msa_dead_letters SET replayed_at = ? WHERE consumer = ? AND id = ?",
    dead_letter_count: "SELECT COUNT(*) FROM msa_dead_letters WHERE consumer = ? AND replayed_at IS NULL",
    migration_applied: "SELECT COUNT(*) FROM msa_migrations WHERE component = ? AND version = ?",
    migration_record: "INSERT INTO msa_migrations (component, version, name, applied_at) VALUES (?, ?, ?, ?)",
    counter_define: "INSERT IGNORE INTO msa_counters (counter, counter_key, amount) VALUES ($1, $2, $3)",
    // The key column has a binary collation, which MySQL hands out as bytes.
    counters_read: "SELECT amount, CAST(counter_key AS CHAR CHARACTER SET utf8mb4) FROM msa_counters WHERE counter = $1",
    placeholder: |_| "?".to_owned(),
};

#[cfg(test)]
mod tests {
    use super::*;

    const DEAD_LETTER_COLUMNS: &str = "id, consumer, event_id, subject, event_type, payload, error, attempts, parked_at, replayed_at";

    #[test]
    fn every_dialect_selects_dead_letters_with_the_same_columns() {
        for dialect in [&SQLITE, &POSTGRES, &MYSQL] {
            assert!(dialect.dead_letter_list.contains(DEAD_LETTER_COLUMNS));
            assert!(dialect.dead_letter_get.contains(DEAD_LETTER_COLUMNS));
        }
    }
}
