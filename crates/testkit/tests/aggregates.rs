//! The kernel's aggregate store on every relational backend, against real servers: a change and
//! its events commit together with optimistic versioning, concurrent changes are all applied
//! (none lost), keys find aggregates and unique keys refuse a second holder, a handled event has
//! no second effect, and counters never fall below zero under contention.

#![allow(clippy::unwrap_used)]

use kernel::aggregate::{Aggregate, ChangeError, CounterChange, Key, StoreError};
use kernel::model::Contract;
use kernel::sql::Storage;
use kernel::{Cause, NewEvent};
use serde::{Deserialize, Serialize};
use testkit::servers::{drop_mysql, drop_postgres, mysql_url, postgres_url, redis_url};
use testkit::{TempDir, unique_name};
use time::OffsetDateTime;

/// A ticket order: takes seats from a counter, can be paid once, carries an owner and an
/// optional unique voucher code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    id: String,
    owner: String,
    voucher: Option<String>,
    seats: i64,
    paid: u32,
    version: u64,
}

#[derive(Debug)]
enum OrderEvent {
    Placed,
    Paid,
    Canceled,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("the order is already canceled")]
struct Canceled;

kernel::contract! {
    /// An order was placed.
    OrderPlaced = "demo.orders.placed.v1" { order_id: String }
}

kernel::contract! {
    /// An order was paid.
    OrderPaid = "demo.orders.paid.v1" { order_id: String }
}

impl Aggregate for Order {
    type Event = OrderEvent;
    type Record = Order;
    const KIND: &'static str = "order";
    const PUBLISHES: &'static [Contract] =
        &[Contract::of::<OrderPlaced>(), Contract::of::<OrderPaid>()];

    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn apply(&mut self, event: &OrderEvent, _at: OffsetDateTime) {
        match event {
            OrderEvent::Placed => {}
            OrderEvent::Paid => self.paid += 1,
            OrderEvent::Canceled => self.seats = 0,
        }
        self.version += 1;
    }
    fn record(&self) -> Order {
        self.clone()
    }
    fn restore(record: Order) -> anyhow::Result<Self> {
        Ok(record)
    }
    fn keys(&self) -> Vec<Key> {
        let mut keys = vec![Key::index("owner", &self.owner)];
        if self.seats > 0 {
            keys.push(Key::index("open", "yes"));
        }
        if let Some(voucher) = &self.voucher {
            keys.push(Key::unique("voucher", voucher));
        }
        keys
    }
    fn integration_event(&self, event: &OrderEvent, sequence: u64) -> Option<NewEvent> {
        let name = match event {
            OrderEvent::Placed => "placed",
            OrderEvent::Paid => "paid",
            OrderEvent::Canceled => return None,
        };
        Some(
            NewEvent::raw(
                format!("demo.orders.{name}.v1"),
                &self.id,
                sequence,
                serde_json::json!({ "orderId": self.id }),
            )
            .unwrap(),
        )
    }
    fn counter_changes(&self, event: &OrderEvent) -> Vec<CounterChange> {
        match event {
            OrderEvent::Placed => vec![CounterChange::take("seats", "show-1", self.seats)],
            _ => Vec::new(),
        }
    }
}

fn place(id: &str, owner: &str, seats: i64, voucher: Option<&str>) -> (Order, Vec<OrderEvent>) {
    let mut order = Order {
        id: id.to_owned(),
        owner: owner.to_owned(),
        voucher: voucher.map(str::to_owned),
        seats,
        paid: 0,
        version: 0,
    };
    order.apply(&OrderEvent::Placed, OffsetDateTime::now_utc());
    (order, vec![OrderEvent::Placed])
}

fn pay(order: &Order) -> Result<Vec<OrderEvent>, Canceled> {
    if order.seats == 0 {
        return Err(Canceled);
    }
    Ok(vec![OrderEvent::Paid])
}

async fn guarantees(storage: Storage) {
    let orders = storage.repository::<Order>();
    let documents = storage.documents();
    assert!(
        documents
            .define_counter("seats", "show-1", 5)
            .await
            .unwrap()
    );
    assert!(
        !documents
            .define_counter("seats", "show-1", 99)
            .await
            .unwrap()
    );

    // A new aggregate, its events and its counter take commit together.
    let (order, events) = place("o1", "kim", 2, Some("V-1"));
    orders.create(&order, &events, None).await.unwrap();
    assert_eq!(orders.get("o1").await.unwrap(), Some(order.clone()));
    assert_eq!(documents.counter("seats", "show-1").await.unwrap(), Some(3));
    // Every key of a counter in one read (a stock page).
    documents
        .define_counter("seats", "show-2", 7)
        .await
        .unwrap();
    let all = documents.counters("seats").await.unwrap();
    assert_eq!(
        (all.len(), all.get("show-1"), all.get("show-2")),
        (2, Some(&3), Some(&7))
    );

    // Its id and its unique key have one holder.
    let again = orders.create(&order, &events, None).await.unwrap_err();
    assert!(
        matches!(again, StoreError::Duplicate { key: "id", .. }),
        "{again:?}"
    );
    let (clash, events) = place("o2", "lee", 1, Some("V-1"));
    let clash = orders.create(&clash, &events, None).await.unwrap_err();
    assert!(
        matches!(clash, StoreError::Duplicate { key: "voucher", .. }),
        "{clash:?}"
    );
    assert_eq!(
        orders.get("o2").await.unwrap(),
        None,
        "a refused creation leaves nothing"
    );
    assert_eq!(documents.counter("seats", "show-1").await.unwrap(), Some(3));

    // Not enough seats: nothing is stored, the counter is unchanged.
    let (greedy, events) = place("o3", "lee", 4, None);
    let exhausted = orders.create(&greedy, &events, None).await.unwrap_err();
    assert!(
        matches!(
            exhausted,
            StoreError::Exhausted {
                counter: "seats",
                ..
            }
        ),
        "{exhausted:?}"
    );
    assert_eq!(orders.get("o3").await.unwrap(), None);
    assert_eq!(documents.counter("seats", "show-1").await.unwrap(), Some(3));

    // Keys find aggregates, newest first.
    let (second, events) = place("o4", "kim", 1, None);
    orders.create(&second, &events, None).await.unwrap();
    let kims: Vec<String> = orders
        .find("owner", "kim", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(kims, vec!["o4", "o1"]);
    assert!(
        orders.find("owner", "KIM", 10).await.unwrap().is_empty(),
        "keys compare exactly, whatever the database's collation"
    );
    assert_eq!(
        orders
            .find_unique("voucher", "V-1")
            .await
            .unwrap()
            .map(|o| o.id),
        Some("o1".to_owned())
    );

    // Concurrent changes are all applied: none is lost to a conflict.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let orders = orders.clone();
        tasks.push(tokio::spawn(
            async move { orders.update("o1", None, pay).await },
        ));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let paid = orders.get("o1").await.unwrap().unwrap();
    assert_eq!((paid.paid, paid.version), (8, 9));

    // A change caused by an event is made once, however often the event comes.
    let cause = Cause::new("o4");
    orders.update("o4", Some(&cause), pay).await.unwrap();
    orders.update("o4", Some(&cause), pay).await.unwrap();
    assert_eq!(orders.get("o4").await.unwrap().unwrap().paid, 1);

    // Events reached the outbox with the aggregate's sequence, in order.
    let outbox = storage.outbox().unwrap().unpublished(100).await.unwrap();
    let o1: Vec<(String, u64)> = outbox
        .iter()
        .filter(|(_, e)| e.subject == "o1")
        .map(|(_, e)| (e.event_type.clone(), e.sequence))
        .collect();
    let mut expected = vec![("demo.orders.placed.v1".to_owned(), 1)];
    expected.extend((2..=9).map(|n| ("demo.orders.paid.v1".to_owned(), n)));
    assert_eq!(o1, expected);
    let o4: Vec<_> = outbox.iter().filter(|(_, e)| e.subject == "o4").collect();
    assert_eq!(o4.len(), 2);
    assert_eq!(
        o4[1].1.causationid,
        Some(cause.event_id()),
        "the caused event names its cause"
    );

    // Keys follow the state: a canceled order leaves the open list.
    orders
        .update("o4", None, |_: &Order| {
            Ok::<_, Canceled>(vec![OrderEvent::Canceled])
        })
        .await
        .unwrap();
    let open: Vec<String> = orders
        .find("open", "yes", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(open, vec!["o1"]);

    // The domain's refusals and unknown ids are told apart.
    let refused = orders.update("o4", None, pay).await.unwrap_err();
    assert!(
        matches!(refused, ChangeError::Rejected(Canceled)),
        "{refused:?}"
    );
    let missing = orders.update("nope", None, pay).await.unwrap_err();
    assert!(
        matches!(missing, ChangeError::NotFound { kind: "order", .. }),
        "{missing:?}"
    );

    // Under contention the counter admits exactly what it holds: 2 seats left, 6 takers.
    let mut tasks = Vec::new();
    for n in 0..6 {
        let orders = orders.clone();
        tasks.push(tokio::spawn(async move {
            let (order, events) = place(&format!("c{n}"), "crowd", 1, None);
            orders.create(&order, &events, None).await
        }));
    }
    let mut admitted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => admitted += 1,
            Err(StoreError::Exhausted { .. }) => {}
            Err(other) => panic!("a take failed with {other:?}"),
        }
    }
    assert_eq!(admitted, 2);
    assert_eq!(documents.counter("seats", "show-1").await.unwrap(), Some(0));
    assert_eq!(orders.find("owner", "crowd", 10).await.unwrap().len(), 2);

    // A restock adds; a counter never goes below zero.
    let restocked = documents
        .adjust_counter(CounterChange::give("seats", "show-1", 3))
        .await
        .unwrap();
    assert_eq!(restocked, 3);
    let refused = documents
        .adjust_counter(CounterChange::take("seats", "show-1", 4))
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Exhausted { .. }));
    assert_eq!(documents.counter("seats", "show-1").await.unwrap(), Some(3));
}

#[tokio::test]
async fn aggregates_keep_their_guarantees_in_memory() {
    guarantees(Storage::memory("demo/orders").await.unwrap()).await;
}

#[tokio::test]
async fn aggregates_keep_their_guarantees_on_a_sqlite_file() {
    let dir = TempDir::new("aggregates");
    let url = format!("sqlite://{}", dir.path().join("orders.db").display());
    guarantees(Storage::open(&url, "demo/orders").await.unwrap()).await;
}

#[tokio::test]
async fn aggregates_keep_their_guarantees_on_postgres() {
    let database = unique_name("aggregates");
    guarantees(
        Storage::open(&postgres_url(&database), "demo/orders")
            .await
            .unwrap(),
    )
    .await;
    drop_postgres(&database).await;
}

#[tokio::test]
async fn aggregates_keep_their_guarantees_on_mariadb() {
    let database = unique_name("aggregates");
    guarantees(
        Storage::open(&mysql_url(&database), "demo/orders")
            .await
            .unwrap(),
    )
    .await;
    drop_mysql(&database).await;
}

/// A read model: the seats a customer holds per show, folded from events in any order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Holdings {
    show: String,
    customer: String,
    seats: i64,
    first_at: i64,
    version: u64,
}

impl Aggregate for Holdings {
    type Event = i64;
    type Record = Holdings;
    const KIND: &'static str = "holdings";
    const PUBLISHES: &'static [Contract] = &[];

    fn id(&self) -> &str {
        &self.show
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn apply(&mut self, seats: &i64, _at: OffsetDateTime) {
        self.seats += seats;
        self.version += 1;
    }
    fn record(&self) -> Holdings {
        self.clone()
    }
    fn restore(record: Holdings) -> anyhow::Result<Self> {
        Ok(record)
    }
    fn keys(&self) -> Vec<Key> {
        vec![Key::index("customer", &self.customer).scored(self.first_at)]
    }
    fn integration_event(&self, _: &i64, _: u64) -> Option<NewEvent> {
        None
    }
}

async fn fold(
    views: &kernel::Repository<Holdings>,
    show: &str,
    first_at: i64,
    seats: i64,
    cause: &Cause,
) {
    let init = || Holdings {
        show: show.to_owned(),
        customer: "kim".to_owned(),
        seats: 0,
        first_at,
        version: 0,
    };
    views
        .upsert(show, Some(cause), init, |_| Ok::<_, Canceled>(vec![seats]))
        .await
        .unwrap();
}

async fn read_model_guarantees(storage: Storage) {
    let views = storage.repository::<Holdings>().generational();
    assert_eq!(views.active_generation().await.unwrap(), "g0");

    // Upserts by correlation key fold every event once, whichever comes first.
    let events: Vec<(String, i64, i64, Cause)> = (0..6)
        .map(|n| {
            (
                format!("show-{}", n % 3),
                1_000 + n % 3,
                n + 1,
                Cause::new(format!("show-{}", n % 3)),
            )
        })
        .collect();
    for (show, first_at, seats, cause) in &events {
        fold(&views, show, *first_at, *seats, cause).await;
    }
    for (show, first_at, seats, cause) in &events {
        fold(&views, show, *first_at, *seats, cause).await;
    }
    let seats = |list: Vec<Holdings>| {
        list.into_iter()
            .map(|h| (h.show, h.seats))
            .collect::<Vec<_>>()
    };
    let live = views.find("customer", "kim", 10).await.unwrap();
    assert_eq!(
        seats(live),
        vec![
            ("show-2".to_owned(), 3 + 6),
            ("show-1".to_owned(), 2 + 5),
            ("show-0".to_owned(), 1 + 4)
        ],
        "highest score first, each event once"
    );

    // A rebuild fills a new generation from the same events while readers stay on the old one.
    let generation = views.new_generation().await.unwrap();
    assert_ne!(generation, "g0");
    let rebuild = views.pinned(&generation);
    for (show, first_at, seats, cause) in events.iter().take(3) {
        fold(&rebuild, show, *first_at, *seats, cause).await;
    }
    assert_eq!(
        views.get("show-0").await.unwrap().unwrap().seats,
        5,
        "readers still see the old one"
    );
    assert_eq!(rebuild.get("show-0").await.unwrap().unwrap().seats, 1);
    views.activate(&generation).await.unwrap();
    assert_eq!(views.active_generation().await.unwrap(), generation);
    // The live projection now writes the new generation; what the rebuild folded is not folded again.
    for (show, first_at, seats, cause) in &events {
        fold(&views, show, *first_at, *seats, cause).await;
    }
    assert_eq!(
        seats(views.find("customer", "kim", 10).await.unwrap()).len(),
        3
    );
    assert_eq!(views.get("show-0").await.unwrap().unwrap().seats, 5);
    assert_eq!(views.discard("g0").await.unwrap(), 3);
    assert_eq!(views.pinned("g0").get("show-0").await.unwrap(), None);
    assert_eq!(views.get("show-1").await.unwrap().unwrap().seats, 7);
}

#[tokio::test]
async fn read_models_fold_once_and_rebuild_into_a_new_generation_in_memory() {
    read_model_guarantees(Storage::memory("demo/holdings").await.unwrap()).await;
}

#[tokio::test]
async fn read_models_fold_once_and_rebuild_into_a_new_generation_on_postgres() {
    let database = unique_name("views");
    read_model_guarantees(
        Storage::open(&postgres_url(&database), "demo/holdings")
            .await
            .unwrap(),
    )
    .await;
    drop_postgres(&database).await;
}

#[tokio::test]
async fn read_models_fold_once_and_rebuild_into_a_new_generation_on_mariadb() {
    let database = unique_name("views");
    read_model_guarantees(
        Storage::open(&mysql_url(&database), "demo/holdings")
            .await
            .unwrap(),
    )
    .await;
    drop_mysql(&database).await;
}

#[tokio::test]
async fn read_models_fold_once_and_rebuild_into_a_new_generation_on_redis() {
    let prefix = unique_name("views");
    read_model_guarantees(
        Storage::open(&redis_url(&prefix), "demo/holdings")
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn a_redis_store_refuses_to_publish() {
    let storage = Storage::open(&redis_url(&unique_name("views")), "demo/orders")
        .await
        .unwrap();
    let (order, events) = place("o1", "kim", 0, None);
    let refused = storage
        .repository::<Order>()
        .create(&order, &events, None)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("cannot publish"), "{refused}");
}

/// An order whose declaration forgot what it publishes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Forgetful {
    id: String,
    version: u64,
}

impl Aggregate for Forgetful {
    type Event = ();
    type Record = Forgetful;
    const KIND: &'static str = "forgetful";
    const PUBLISHES: &'static [Contract] = &[Contract::of::<OrderPaid>()];

    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn apply(&mut self, _: &(), _at: OffsetDateTime) {
        self.version += 1;
    }
    fn record(&self) -> Forgetful {
        self.clone()
    }
    fn restore(record: Forgetful) -> anyhow::Result<Self> {
        Ok(record)
    }
    fn integration_event(&self, _: &(), sequence: u64) -> Option<NewEvent> {
        let placed = OrderPlaced {
            order_id: self.id.clone(),
        };
        Some(NewEvent::new(&placed, &self.id, sequence))
    }
}

#[tokio::test]
async fn a_change_publishing_a_contract_its_aggregate_does_not_declare_is_refused_whole() {
    let storage = Storage::memory("demo/forgetful").await.unwrap();
    let repository = storage.repository::<Forgetful>();
    let mut order = Forgetful {
        id: "f-1".into(),
        version: 0,
    };
    order.apply(&(), OffsetDateTime::now_utc());
    let error = repository.create(&order, &[()], None).await.unwrap_err();
    assert!(
        error.to_string().contains("demo.orders.placed.v1")
            && error.to_string().contains("PUBLISHES"),
        "{error}"
    );
    assert!(repository.get("f-1").await.unwrap().is_none());
    assert_eq!(
        storage.kept().list()[0].publishes,
        &[Contract::of::<OrderPaid>()]
    );
}
