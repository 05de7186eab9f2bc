//! The seed's functional requirements through the gateway: the product team registers products
//! (rental's replica filled, delivery's stock set), a customer rents (stock reserved; a retried
//! POST with the same key rents once), one too big is out of stock (the rental canceled), the
//! delivery team delivers, a delivered rental is returned and collected (stock restored), one
//! canceled before delivery restores the stock; my orders at each step; the catalog replica and
//! my orders rebuilt from the stream by `msa replay`.

use serde_json::{Value, json};
use testkit::eventually;
use testkit::system::{Options, PATIENCE, Profile, TestSystem};

pub(crate) const MSA: &str = env!("CARGO_BIN_EXE_msa");
pub(crate) const MANIFEST: &str = include_str!("../../../../systems/office/system.toml");

/// A rental of `qty` units of `product` from tomorrow for two days (Asia/Seoul).
pub(crate) fn request(product: &str, qty: u32) -> Value {
    let tomorrow = time::OffsetDateTime::now_utc() + time::Duration::hours(9 + 24);
    let from = tomorrow.date();
    let to = from + time::Duration::days(1);
    json!({"productId": product, "qty": qty, "from": from.to_string(), "to": to.to_string()})
}

/// Registers a product as the product team and returns its id, once rental and delivery know it.
pub(crate) async fn registered(system: &TestSystem, team: &str, name: &str, qty: u32) -> String {
    let body = json!({"name": name, "dailyRate": 5_000, "qty": qty});
    let (status, product) = system.post_as(team, "/api/products", body).await;
    assert_eq!(status, 201, "{product}");
    let id = product["id"].as_str().unwrap().to_owned();
    stock_until(system, &id, |n| n == i64::from(qty)).await;
    let admin = system.user_token("admin", "admin-password").await;
    eventually(
        PATIENCE,
        &format!("rental's replica lists {name}"),
        || async {
            let (_, catalog) = system.get_as(&admin, "/api/rentals/catalog").await;
            catalog
                .as_array()?
                .iter()
                .any(|p| p["productId"] == id.as_str())
                .then_some(())
        },
    )
    .await;
    id
}

/// The units of `product` left in delivery's ledger, once `accept` holds.
pub(crate) async fn stock_until(
    system: &TestSystem,
    product: &str,
    accept: impl Fn(i64) -> bool,
) -> i64 {
    eventually(
        PATIENCE,
        &format!("the stock of {product} settles"),
        || async {
            let (_, stock) = system.get("/api/stock").await;
            let left = stock
                .as_array()?
                .iter()
                .find(|s| s["productId"] == product)?["stock"]
                .as_i64()?;
            accept(left).then_some(left)
        },
    )
    .await
}

/// Rents as `token` and returns the rental id.
pub(crate) async fn rented(system: &TestSystem, token: &str, product: &str, qty: u32) -> String {
    let (status, rental) = system
        .post_as(token, "/api/rentals", request(product, qty))
        .await;
    assert_eq!(
        (status, &rental["status"]),
        (201, &json!("Ordered")),
        "{rental}"
    );
    rental["id"].as_str().unwrap().to_owned()
}

/// My orders' document of rental `id`, once `accept` holds.
pub(crate) async fn myorder_until(
    system: &TestSystem,
    token: &str,
    id: &str,
    what: &str,
    accept: impl Fn(&Value) -> bool,
) -> Value {
    let path = format!("/api/myorders/rentals/{id}");
    system.view_until(token, &path, what, accept).await
}

/// Rental `id` as `token` sees it, once its status is `status`.
pub(crate) async fn rental_until(
    system: &TestSystem,
    token: &str,
    id: &str,
    status: &str,
) -> Value {
    eventually(
        PATIENCE,
        &format!("rental {id} becomes {status}"),
        || async {
            let (_, rental) = system.get_as(token, &format!("/api/rentals/{id}")).await;
            (rental["status"] == status).then_some(rental)
        },
    )
    .await
}

async fn register_rent_deliver_return(profile: Profile) {
    let mut system = TestSystem::start(MSA, MANIFEST, Options::of(profile)).await;
    let kim = system.user_token("kim", "kim-password").await;
    let lee = system.user_token("lee", "lee-password").await;
    let team = system.user_token("product", "product-password").await;
    let delivery = system.user_token("delivery", "delivery-password").await;

    // The product team registers (the seed's computer and monitor, nine each); customers cannot.
    let (status, _) = system
        .post_as(&kim, "/api/products", json!({"name": "x", "dailyRate": 1}))
        .await;
    assert_eq!(status, 403, "customers do not register products");
    let (status, bad) = system
        .post_as(&team, "/api/products", json!({"name": "", "dailyRate": 1}))
        .await;
    assert_eq!((status, &bad["code"]), (422, &json!("invalid_name")));
    let computer = registered(&system, &team, "computer", 9).await;
    let monitor = registered(&system, &team, "monitor", 9).await;
    let (_, catalog) = system.get("/api/products").await;
    assert_eq!(catalog.as_array().unwrap().len(), 2, "{catalog}");

    // Bad requests: a product rental has not heard of, a past period, a client-sent amount.
    let (status, unknown) = system
        .post_as(&kim, "/api/rentals", request("product-22", 1))
        .await;
    assert_eq!((status, &unknown["code"]), (422, &json!("unknown_product")));
    let mut past = request(&computer, 1);
    past["from"] = json!("2020-01-01");
    let (status, refused) = system.post_as(&kim, "/api/rentals", past).await;
    assert_eq!((status, &refused["code"]), (422, &json!("invalid_period")));
    let mut sneaky = request(&computer, 1);
    sneaky["amount"] = json!(1);
    let (status, refused) = system.post_as(&kim, "/api/rentals", sneaky).await;
    assert_eq!((status, &refused["code"]), (422, &json!("invalid_body")));

    // Twelve computers: out of stock (재고부족), the rental canceled, no stock moved.
    let too_many = rented(&system, &kim, &computer, 12).await;
    let canceled = rental_until(&system, &kim, &too_many, "Canceled").await;
    assert_eq!(canceled["cancelReason"], "out_of_stock");
    let view = myorder_until(&system, &kim, &too_many, "out of stock", |v| {
        v["rentalStatus"] == "Canceled"
    })
    .await;
    assert_eq!(
        (&view["deliveryStatus"], &view["cancelReason"]),
        (&json!("Canceled"), &json!("out_of_stock"))
    );

    // Three computers, retried with the same key: rented once, the stock reserved (9 → 6).
    let (status, first) = system
        .post_keyed(&kim, "/api/rentals", "office-1", &request(&computer, 3))
        .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["amount"], 5_000 * 3 * 2, "rate × qty × days");
    assert_eq!(
        first["productName"], "computer",
        "the name from rental's replica"
    );
    let (_, again) = system
        .post_keyed(&kim, "/api/rentals", "office-1", &request(&computer, 3))
        .await;
    assert_eq!(again["id"], first["id"], "a retry rents once");
    let rental = first["id"].as_str().unwrap().to_owned();
    rental_until(&system, &kim, &rental, "Scheduled").await;
    assert_eq!(stock_until(&system, &computer, |n| n == 6).await, 6);
    let (status, _) = system.get_as(&lee, &format!("/api/rentals/{rental}")).await;
    assert_eq!(status, 404, "lee cannot see kim's rental");

    // Delivered; then a cancel is refused (return it instead); returned and collected: 6 → 9.
    let (status, _) = system
        .post_as(
            &kim,
            &format!("/api/deliveries/{rental}/deliver"),
            json!({}),
        )
        .await;
    assert_eq!(status, 403, "customers do not deliver");
    let (status, early) = system
        .post_as(
            &delivery,
            &format!("/api/deliveries/{rental}/collect"),
            json!({}),
        )
        .await;
    assert_eq!((status, &early["code"]), (409, &json!("not_delivered")));
    let (status, shipped) = system
        .post_as(
            &delivery,
            &format!("/api/deliveries/{rental}/deliver"),
            json!({}),
        )
        .await;
    assert_eq!((status, &shipped["status"]), (200, &json!("Delivered")));
    rental_until(&system, &kim, &rental, "Delivered").await;
    let (status, refused) = system
        .post_as(&kim, &format!("/api/rentals/{rental}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, &refused["code"]),
        (409, &json!("already_delivered"))
    );
    let (status, returning) = system
        .post_as(&kim, &format!("/api/rentals/{rental}/return"), json!({}))
        .await;
    assert_eq!(
        (status, &returning["status"]),
        (200, &json!("ReturnRequested"))
    );
    eventually(PATIENCE, "the delivery team sees the return", || async {
        let (_, d) = system
            .get_as(&delivery, &format!("/api/deliveries/{rental}"))
            .await;
        (d["status"] == "ReturnRequested").then_some(())
    })
    .await;
    let (status, _) = system
        .post_as(
            &delivery,
            &format!("/api/deliveries/{rental}/collect"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    rental_until(&system, &kim, &rental, "Completed").await;
    stock_until(&system, &computer, |n| n == 9).await;
    let view = myorder_until(&system, &kim, &rental, "completed", |v| {
        v["rentalStatus"] == "Completed" && v["deliveryStatus"] == "Collected"
    })
    .await;
    testkit::assert_timeline(
        &view,
        &[
            "rental.ordered",
            "delivery.scheduled",
            "delivery.delivered",
            "rental.return_requested",
            "delivery.collected",
            "rental.completed",
        ],
    );

    // A cancel before delivery: delivery cancels synchronously and the stock comes back (9 → 7 → 9).
    let monitors = rented(&system, &kim, &monitor, 2).await;
    rental_until(&system, &kim, &monitors, "Scheduled").await;
    stock_until(&system, &monitor, |n| n == 7).await;
    let (status, canceled) = system
        .post_as(&kim, &format!("/api/rentals/{monitors}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, &canceled["status"]),
        (200, &json!("Canceled")),
        "{canceled}"
    );
    assert_eq!(canceled["cancelReason"], "customer");
    let (_, d) = system
        .get_as(&delivery, &format!("/api/deliveries/{monitors}"))
        .await;
    assert_eq!(
        d["status"], "Canceled",
        "delivery canceled before the rental: {d}"
    );
    stock_until(&system, &monitor, |n| n == 9).await;
    let (status, _) = system
        .post_as(
            &delivery,
            &format!("/api/deliveries/{monitors}/deliver"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "a canceled delivery is not delivered");

    // Restock: 9 → 14.
    let (status, _) = system
        .post_as(
            &team,
            &format!("/api/products/{monitor}/restock"),
            json!({"quantity": 5}),
        )
        .await;
    assert_eq!(status, 200);
    stock_until(&system, &monitor, |n| n == 14).await;

    // My orders: kim's three, none of lee's.
    let (_, mine) = system.get_as(&kim, "/api/myorders").await;
    assert_eq!(mine["rentals"].as_array().unwrap().len(), 3, "{mine}");
    let (_, lees) = system.get_as(&lee, "/api/myorders").await;
    assert!(lees["rentals"].as_array().unwrap().is_empty(), "{lees}");

    // Rental's catalog replica and my orders rebuilt from the start of the stream.
    system.replay("rental").await;
    let admin = system.user_token("admin", "admin-password").await;
    let (_, replica) = system.get_as(&admin, "/api/rentals/catalog").await;
    let mut names: Vec<&str> = replica
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["computer", "monitor"],
        "the rebuilt replica has every product"
    );
    rented(&system, &lee, &monitor, 1).await;
    system.replay("information").await;
    let rebuilt = myorder_until(&system, &kim, &monitors, "rebuilt", |v| {
        v["rentalStatus"] == "Canceled"
    })
    .await;
    assert_eq!(rebuilt["cancelReason"], "customer");

    // Every route of the API document needs a valid token except the public ones.
    let walked = system.walk_routes().await;
    assert!(
        walked >= 14,
        "the route table has all the API's routes ({walked})"
    );
    system.cleanup().await;
}

scenario!(register_rent_deliver_return);
