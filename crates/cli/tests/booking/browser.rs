//! The booking web UI in a real browser (headless Chromium over WebDriver), on the gateway's kit:
//! a customer picks a musical, performance and grade, books and pays, and my page shows it pushed
//! live; the delivery team ships it while a second ticket arrives without wiping a half-typed
//! shipper; the operator's view names the booking. Screenshots go to `target/screenshots/`.

use crate::flows::{MANIFEST, MSA, request};
use std::time::Duration;
use testkit::browser::Browser;
use testkit::system::{Options, TestSystem};

const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn customers_book_and_follow_their_tickets_the_delivery_team_ships_operators_watch() {
    let system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    let gateway = system.gateway();
    let browser = Browser::open_as(&gateway, "kim", "kim-password", "#book-form").await;
    browser.choose("#musical", "frankenstein").await;
    browser
        .choose("#performance", "frankenstein-2030-04-02")
        .await;
    browser.choose("#grade", "R").await;
    browser.set_number("#quantity", 2).await;
    for (field, text) in [
        ("#address", "서울시 중구 을지로 1"),
        ("#phone", "010-5555-1234"),
        ("#card-number", "4242424242424242"),
    ] {
        let input = browser.find(field).await.unwrap().unwrap();
        browser.type_into(&input, text).await.unwrap();
    }
    let price = browser.text_of("#price").await;
    assert!(
        price.contains("198,000") && price.contains("잔여"),
        "the price and seats left show before paying: {price}"
    );
    browser
        .click(&browser.find("#book").await.unwrap().unwrap())
        .await
        .unwrap();
    let said = browser.answer("an answer to the booking").await;
    assert!(said.contains("예매되었습니다"), "{said}");
    let id = said
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    let item = format!("#my-bookings [data-booking-id='{id}']");
    let pushed = "my page shows the delivery requested, pushed live";
    browser
        .wait_status(&item, "delivery", "Requested", pushed)
        .await;
    let shown = browser.text_of(&item).await;
    assert!(
        shown.contains("예매 완료") && shown.contains("결제 완료") && shown.contains("배송 준비"),
        "{shown}"
    );
    browser
        .screenshot(&Browser::screenshots().join("booking-my-page.png"))
        .await
        .unwrap();
    browser.sign_out().await;

    browser
        .sign_in(&gateway, "delivery", "delivery-password")
        .await;
    let entry = format!("#deliveries [data-booking-id='{id}']");
    browser.wait_for(&entry, PATIENCE).await.unwrap();
    let shipper = browser
        .find(&format!("{entry} .shipper"))
        .await
        .unwrap()
        .unwrap();
    browser.type_into(&shipper, "CJ 대한").await.unwrap();
    // A second ticket joins the queue while the shipper is half typed.
    let kim = system.user_token("kim", "kim-password").await;
    let (status, second) = system
        .post_keyed(&kim, "/api/bookings", "browser-2", &request("S", 1))
        .await;
    assert_eq!(status, 201, "{second}");
    let other = format!(
        "#deliveries [data-booking-id='{}']",
        second["id"].as_str().unwrap()
    );
    browser.wait_for(&other, PATIENCE).await.unwrap();
    let kept = browser
        .execute(
            &format!("return document.querySelector(\"{entry} .shipper\").value"),
            serde_json::json!([]),
        )
        .await
        .unwrap();
    assert_eq!(
        kept, "CJ 대한",
        "the half-typed shipper survives the new ticket"
    );
    browser.type_into(&shipper, "CJ 대한통운").await.unwrap();
    browser
        .screenshot(&Browser::screenshots().join("booking-delivery-queue.png"))
        .await
        .unwrap();
    browser
        .click(
            &browser
                .find(&format!("{entry} .ship"))
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    browser
        .wait_until(
            &format!("return !document.querySelector(\"{entry}\")"),
            "the shipped ticket leaves the queue",
            PATIENCE,
        )
        .await
        .unwrap();
    let (_, delivery) = system.get(&format!("/api/deliveries/{id}")).await;
    assert_eq!(
        (&delivery["status"], &delivery["shipper"]),
        (&"Shipped".into(), &"CJ 대한통운".into())
    );
    browser.sign_out().await;

    browser.sign_in(&gateway, "admin", "admin-password").await;
    let shot = Browser::screenshots().join("booking-admin-system.png");
    let services = browser.check_operator_view(&id, &shot).await;
    assert!(
        services.contains("booking") && services.contains("payment: closed"),
        "{services}"
    );
    browser.quit().await;
    system.cleanup().await;
}
