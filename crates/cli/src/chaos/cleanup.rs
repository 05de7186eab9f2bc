//! What a chaos run on the prod profile leaves on this machine's servers, removed: its
//! databases, its Redis keys and its JetStream stream (best effort; a failure is said, not fatal).

use kernel::manifest::SystemManifest;
use sqlx::ConnectOptions as _;

/// Removes the run `unique`'s databases, keys and stream.
pub(crate) async fn prod(manifest: &SystemManifest, unique: &str) {
    for service in &manifest.services {
        let database = format!("{unique}_{}", service.name);
        let scheme = service.prod_store.split(':').next().unwrap_or_default();
        let dropped = match scheme {
            "postgres" | "postgresql" => drop_postgres(&database).await,
            "mysql" | "mariadb" => drop_mysql(&database).await,
            "redis" => {
                let url = format!("redis://127.0.0.1:6379/0?prefix={unique}:{}", service.name);
                match kernel::redis::RedisStore::connect(&url, "chaos-cleanup").await {
                    Ok(store) => store.delete_under("").await.map(|_| ()),
                    Err(error) => Err(error),
                }
            }
            _ => Ok(()),
        };
        if let Err(error) = dropped {
            eprintln!("cannot remove the store of {}: {error:#}", service.name);
        }
    }
    if let Ok(client) = async_nats::connect("nats://127.0.0.1:4222").await {
        let js = async_nats::jetstream::new(client);
        let stream = unique.to_ascii_uppercase();
        let _ = js.delete_stream(&stream).await;
        let _ = js.delete_key_value(format!("{stream}_leases")).await;
    }
}

async fn drop_postgres(database: &str) -> anyhow::Result<()> {
    let options: sqlx::postgres::PgConnectOptions =
        "postgres://postgres@127.0.0.1:5432/postgres".parse()?;
    let mut connection = options.connect().await?;
    let statement = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
    sqlx::raw_sql(&statement).execute(&mut connection).await?;
    Ok(())
}

async fn drop_mysql(database: &str) -> anyhow::Result<()> {
    let options: sqlx::mysql::MySqlConnectOptions = "mysql://root@127.0.0.1:3306/mysql".parse()?;
    let mut connection = options.connect().await?;
    let statement = format!("DROP DATABASE IF EXISTS `{database}`");
    sqlx::raw_sql(&statement).execute(&mut connection).await?;
    Ok(())
}
