//! The seed's functional requirements through the gateway: order and pay (a retried POST orders
//! once; a client-sent amount is refused), the barista accepts and makes the drink, the monthly
//! total and the sales page, a cancel before acceptance (refund, total lowered) and one after
//! (refused, order restored), one notification per status change, my page at each step; and my
//! page rebuilt by `msa replay` without telling anyone again.

use serde_json::{Value, json};
use testkit::eventually;
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

pub(crate) const MSA: &str = env!("CARGO_BIN_EXE_msa");
pub(crate) const MANIFEST: &str = include_str!("../../../../systems/cafeteria/system.toml");

/// An order of `qty` cups of `drink`.
pub(crate) fn request(drink: &str, qty: u32) -> Value {
    json!({"drinkId": drink, "qty": qty, "cardNumber": "4242424242424242"})
}

/// Orders through the gateway as `token` and returns the order id.
pub(crate) async fn ordered(system: &TestSystem, token: &str, drink: &str, qty: u32) -> String {
    let (status, order) = system
        .post_as(token, "/api/orders", request(drink, qty))
        .await;
    assert_eq!(
        (status, &order["status"]),
        (201, &json!("Ordered")),
        "{order}"
    );
    order["id"].as_str().unwrap().to_owned()
}

/// The barista's view of an order's drink, once it is queued.
pub(crate) async fn queued(system: &TestSystem, barista: &str, id: &str) {
    eventually(
        PATIENCE,
        &format!("{id} in the barista's queue"),
        || async {
            let (status, drink) = system.get_as(barista, &format!("/api/drinks/{id}")).await;
            (status == 200 && drink["status"] == "Queued").then_some(())
        },
    )
    .await;
}

/// The caller's total of `month` (this month when `None`), once `accept` holds.
pub(crate) async fn total_until(
    system: &TestSystem,
    token: &str,
    month: Option<&str>,
    accept: impl Fn(i64) -> bool,
) -> i64 {
    let path = month.map_or("/api/sales".to_owned(), |m| format!("/api/sales?month={m}"));
    eventually(PATIENCE, &format!("{path} settles"), || async {
        let (status, totals) = system.get_as(token, &path).await;
        let total = totals["total"].as_i64().unwrap_or(-1);
        (status == 200 && accept(total)).then_some(total)
    })
    .await
}

/// The templates of the caller's notifications about `order`.
async fn notices(system: &TestSystem, token: &str) -> Vec<Value> {
    let (status, messages) = system.get_as(token, "/api/notifications").await;
    assert_eq!(status, 200, "{messages}");
    messages.as_array().unwrap().clone()
}

async fn order_make_cancel(profile: Profile) {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;
    let barista = system.user_token("barista", "barista-password").await;

    let (status, menu) = system.get("/api/menu").await;
    assert_eq!(status, 200);
    assert!(
        menu.as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == "americano" && d["price"] == 4_500)
    );
    let mut sneaky = request("americano", 2);
    sneaky["amt"] = json!(1);
    let (status, refused) = system.post_as(&kim, "/api/orders", sneaky).await;
    assert_eq!(
        (status, &refused["code"]),
        (422, &json!("invalid_body")),
        "{refused}"
    );
    assert!(
        refused["message"].as_str().unwrap().contains("amt"),
        "{refused}"
    );

    // Ordered and paid; a retry with the same key orders once.
    let (status, first) = system
        .post_keyed(&kim, "/api/orders", "cafe-1", &request("americano", 2))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["amount"], 9_000, "the menu's price");
    let (_, again) = system
        .post_keyed(&kim, "/api/orders", "cafe-1", &request("americano", 2))
        .await;
    assert_eq!(again["id"], first["id"], "a retry orders once");
    let made = first["id"].as_str().unwrap().to_owned();
    let (status, _) = system.get_as(&lee, &format!("/api/orders/{made}")).await;
    assert_eq!(status, 404, "lee cannot see kim's order");

    // The barista accepts and makes it.
    queued(&system, &barista, &made).await;
    let (status, _) = system
        .post_as(&kim, &format!("/api/drinks/{made}/accept"), json!({}))
        .await;
    assert_eq!(status, 403, "customers do not make drinks");
    let (status, early) = system
        .post_as(&barista, &format!("/api/drinks/{made}/make"), json!({}))
        .await;
    assert_eq!((status, &early["code"]), (409, &json!("not_receipted")));
    for step in ["accept", "make"] {
        let (status, drink) = system
            .post_as(&barista, &format!("/api/drinks/{made}/{step}"), json!({}))
            .await;
        assert_eq!(status, 200, "{drink}");
    }
    let view = system
        .mypage_until(&kim, "order", &made, "made", |v| v["drinkStatus"] == "Made")
        .await;
    assert_eq!(
        (
            &view["orderStatus"],
            &view["paymentStatus"],
            &view["amount"]
        ),
        (&json!("Ordered"), &json!("Approved"), &json!(9_000))
    );

    // A cancel after the barista accepted is refused and the order restored; the customer is told.
    let (status, canceling) = system
        .post_as(&kim, &format!("/api/orders/{made}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, &canceling["status"]),
        (202, &json!("CancelRequested"))
    );
    eventually(
        PATIENCE,
        "the refused cancel restores the order",
        || async {
            let (_, order) = system.get_as(&kim, &format!("/api/orders/{made}")).await;
            (order["status"] == "Ordered").then_some(())
        },
    )
    .await;

    // A cancel before acceptance: drink canceled, payment refunded, order canceled.
    let early = ordered(&system, &kim, "lemonade", 1).await;
    queued(&system, &barista, &early).await;
    total_until(&system, &kim, None, |t| t == 15_000).await;
    let (status, _) = system
        .post_as(&kim, &format!("/api/orders/{early}/cancel"), json!({}))
        .await;
    assert_eq!(status, 202);
    let view = system
        .mypage_until(&kim, "order", &early, "canceled", |v| {
            v["orderStatus"] == "Canceled"
        })
        .await;
    assert_eq!(
        (&view["drinkStatus"], &view["paymentStatus"]),
        (&json!("Canceled"), &json!("Refunded"))
    );
    testkit::assert_timeline(
        &view,
        &[
            "order.ordered",
            "payment.approved",
            "drink.queued",
            "order.cancel_requested",
            "drink.canceled",
            "payment.canceled",
            "order.canceled",
        ],
    );
    let (status, refused) = system
        .post_as(&barista, &format!("/api/drinks/{early}/accept"), json!({}))
        .await;
    assert_eq!((status, &refused["code"]), (409, &json!("order_canceled")));

    // The monthly total counts the paid orders, less the refund; the sales page keeps every row.
    assert_eq!(
        total_until(&system, &kim, None, |t| t == 9_000).await,
        9_000
    );
    let (_, ledger) = system.get_as(&kim, "/api/sales/ledger").await;
    let rows: Vec<(String, i64, i64)> = ledger["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["entry"].as_str().unwrap().to_owned(),
                r["amount"].as_i64().unwrap(),
                r["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("payment".to_owned(), 9_000, 9_000),
            ("payment".to_owned(), 6_000, 15_000),
            ("refund".to_owned(), -6_000, 9_000),
        ]
    );
    let (_, lees) = system.get_as(&lee, "/api/sales").await;
    assert_eq!(lees["total"], 0, "lee bought nothing");
    let (_, shop) = system.get("/api/sales").await;
    assert_eq!(shop["total"], 9_000, "the shop's month");

    // One notification per status change: ordered, receipted, made, cancel refused; then ordered
    // and canceled for the second order.
    let expected = [
        "ordered",
        "receipted",
        "made",
        "cancel_refused",
        "ordered",
        "canceled",
    ];
    let messages = eventually(PATIENCE, "six notifications", || async {
        let messages = notices(&system, &kim).await;
        (messages.len() >= expected.len()).then_some(messages)
    })
    .await;
    let mut templates: Vec<&str> = messages
        .iter()
        .map(|m| m["template"].as_str().unwrap())
        .collect();
    templates.sort_unstable();
    let mut wanted = expected.to_vec();
    wanted.sort_unstable();
    assert_eq!(templates, wanted, "{messages:?}");
    let refused = messages
        .iter()
        .find(|m| m["template"] == "cancel_refused")
        .unwrap();
    assert!(
        refused["en"].as_str().unwrap().contains("cannot cancel"),
        "{refused}"
    );
    assert!(
        notices(&system, &lee).await.is_empty(),
        "lee is told nothing of kim's"
    );

    // My page rebuilt from the stream reads the same, and nobody is told again.
    let output = system.replay("customercenter").await;
    assert!(output.contains("now reads generation"), "{output}");
    let rebuilt = system
        .mypage_until(&kim, "order", &early, "rebuilt", |v| {
            v["orderStatus"] == "Canceled"
        })
        .await;
    assert_eq!(rebuilt["paymentStatus"], "Refunded");
    assert_eq!(notices(&system, &kim).await.len(), expected.len());
    // Every route of the API document needs a valid token except the public ones.
    let walked = system.walk_routes().await;
    assert!(
        walked >= 16,
        "the route table has all the API's routes ({walked})"
    );
    system.cleanup().await;
}

scenario!(order_make_cancel);
