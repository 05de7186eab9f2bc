//! The shared adapters against the real stores (a SQLite file, PostgreSQL, MariaDB, Redis), each
//! opened twice as two gateway replicas would: the issuer's promises hold, including under
//! racing redemptions and rotations, and one budget is counted across both replicas.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::edge::Admission;
use futures_util::future::join_all;
use testkit::servers::{drop_mysql, drop_postgres, mysql_url, postgres_url, redis_url};
use testkit::{TempDir, unique_name};

/// Two replicas of one store: the issuer's promises, a code issued at one and redeemed at the
/// other once, and a budget that admits exactly `burst` of requests alternating between them.
async fn two_replicas_share_grants_and_budgets(url: &str) {
    let a = SharedStore::open(url, "test/gateway").await.unwrap();
    let b = SharedStore::open(url, "test/gateway").await.unwrap();
    auth::promises::all(&*a.grants()).await.unwrap();

    let (at_a, at_b) = (a.grants(), b.grants());
    let code = unique_name("code");
    let grant = auth::CodeGrant {
        client_id: "msa-web".to_owned(),
        redirect_uri: "http://127.0.0.1/".to_owned(),
        challenge: "c".repeat(43),
        username: "kim".to_owned(),
        scope: "openid".to_owned(),
        nonce: None,
    };
    at_a.put_code(&code, &grant, Duration::from_secs(60))
        .await
        .unwrap();
    let (first, second) = tokio::join!(at_b.take_code(&code), at_a.take_code(&code));
    let won: Vec<_> = [first.unwrap(), second.unwrap()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(won, vec![grant], "redeemed once, at either replica");

    let settings = RateLimitSettings {
        per_second: 0.01,
        burst: 10.0,
        store: url.to_owned(),
    };
    let (limit_a, limit_b) = (
        a.limiter(Gcra::of(&settings)),
        b.limiter(Gcra::of(&settings)),
    );
    let client = unique_name("sub:kim");
    let answers = join_all((0..30).map(|i| {
        let limiter = if i % 2 == 0 { &limit_a } else { &limit_b };
        limiter.admit(&client)
    }))
    .await;
    let admitted = answers
        .iter()
        .filter(|a| matches!(a, Ok(Admission::Admitted)))
        .count();
    assert_eq!(admitted, 10, "the burst, counted across both: {answers:?}");
    assert!(answers.iter().all(|a| match a {
        Ok(Admission::Refused { retry_after_s }) => *retry_after_s > 0.0,
        other => matches!(other, Ok(Admission::Admitted)),
    }));
    assert_eq!(
        limit_b.admit(&unique_name("sub:lee")).await.unwrap(),
        Admission::Admitted,
        "clients have their own budgets"
    );
    a.purge().await.unwrap();
}

#[tokio::test]
async fn a_sqlite_file_serves_two_replicas() {
    let dir = TempDir::new("gateway-shared");
    two_replicas_share_grants_and_budgets(&dir.sqlite_url("shared.db")).await;
}

#[tokio::test]
async fn postgres_serves_two_replicas() {
    let database = unique_name("gateway");
    two_replicas_share_grants_and_budgets(&postgres_url(&database)).await;
    drop_postgres(&database).await;
}

#[tokio::test]
async fn mariadb_serves_two_replicas() {
    let database = unique_name("gateway");
    two_replicas_share_grants_and_budgets(&mysql_url(&database)).await;
    drop_mysql(&database).await;
}

#[tokio::test]
async fn redis_serves_two_replicas() {
    let url = redis_url(&unique_name("gateway"));
    two_replicas_share_grants_and_budgets(&url).await;
    let store = RedisStore::connect(&url, "cleanup").await.unwrap();
    store.delete_under("").await.unwrap();
}

#[test]
fn the_cell_rate_admits_the_burst_at_once_then_one_per_interval() {
    let gcra = Gcra::of(&RateLimitSettings {
        per_second: 2.0,
        burst: 3.0,
        store: String::new(),
    });
    assert_eq!((gcra.interval_us, gcra.tolerance_us), (500_000, 1_500_000));
    match gcra.refused(1_500_000, 0) {
        Admission::Refused { retry_after_s } => assert!((retry_after_s - 0.5).abs() < 1e-9),
        Admission::Admitted => unreachable!(),
    }
}
