//! The database servers tests use, each test in its own database (or key prefix), created on
//! first connection and dropped at the end.

/// PostgreSQL: `MSA_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`) plus a database.
pub fn postgres_url(database: &str) -> String {
    let base = std::env::var("MSA_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    format!("{}/{database}", base.trim_end_matches('/'))
}

/// MariaDB / MySQL: `MSA_TEST_MYSQL` (default `mysql://root@127.0.0.1:3306`) plus a database.
pub fn mysql_url(database: &str) -> String {
    let base = std::env::var("MSA_TEST_MYSQL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    format!("{}/{database}", base.trim_end_matches('/'))
}

/// Redis: `MSA_TEST_REDIS` (default `redis://127.0.0.1:6379`) with a key prefix.
pub fn redis_url(prefix: &str) -> String {
    let base =
        std::env::var("MSA_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    format!("{}/0?prefix={prefix}", base.trim_end_matches('/'))
}

/// Drops a test's PostgreSQL database (best effort).
pub async fn drop_postgres(database: &str) {
    use sqlx::ConnectOptions as _;
    let Ok(options) = postgres_url("postgres").parse::<sqlx::postgres::PgConnectOptions>() else {
        return;
    };
    if let Ok(mut conn) = options.connect().await {
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        ))
        .execute(&mut conn)
        .await;
    }
}

/// Drops a test's MariaDB database (best effort).
pub async fn drop_mysql(database: &str) {
    use sqlx::ConnectOptions as _;
    let Ok(options) = mysql_url("mysql").parse::<sqlx::mysql::MySqlConnectOptions>() else {
        return;
    };
    if let Ok(mut conn) = options.connect().await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS `{database}`"))
            .execute(&mut conn)
            .await;
    }
}
