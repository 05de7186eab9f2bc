//! The cafeteria web UI in a real browser (headless Chromium over WebDriver), on the gateway's
//! kit: a customer orders from the menu and pays, and my page shows it pushed live with its
//! notification and the month's total; the barista accepts and makes it from the queue; the
//! customer sees it made; the operator's view names the order. Screenshots go to
//! `target/screenshots/`.

use crate::flows::{MANIFEST, MSA};
use std::time::Duration;
use testkit::browser::Browser;
use testkit::system::{Options, TestSystem};

const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn customers_order_and_follow_their_drinks_the_barista_makes_them_operators_watch() {
    let system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    let gateway = system.gateway();
    let browser = Browser::open_as(&gateway, "kim", "kim-password", "#order-form").await;
    browser.choose("#drink", "vanilla-latte").await;
    browser.set_number("#qty", 2).await;
    let card = browser.find("#card-number").await.unwrap().unwrap();
    browser.type_into(&card, "4242424242424242").await.unwrap();
    let price = browser.text_of("#price").await;
    assert!(
        price.contains("11,000"),
        "the price shows before paying: {price}"
    );
    browser.click_on("#pay").await;
    let said = browser.answer("an answer to the order").await;
    assert!(said.contains("주문되었습니다"), "{said}");
    let id = said
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    let item = format!("#my-orders [data-order-id='{id}']");
    browser
        .wait_status(
            &item,
            "drinkStatus",
            "Queued",
            "my page shows the drink queued, pushed live",
        )
        .await;
    browser
        .wait_until(
            "return document.querySelector('#month-total')?.textContent.includes('11,000')",
            "the month's total counts the order",
            PATIENCE,
        )
        .await
        .unwrap();
    browser
        .wait_until(
            "return document.querySelectorAll('#notices li').length >= 1",
            "the order's notification",
            PATIENCE,
        )
        .await
        .unwrap();
    browser
        .screenshot(&Browser::screenshots().join("cafeteria-my-page.png"))
        .await
        .unwrap();
    browser.sign_out().await;

    browser
        .sign_in(&gateway, "barista", "barista-password")
        .await;
    let entry = format!("#drinks [data-order-id='{id}']");
    browser.wait_for(&entry, PATIENCE).await.unwrap();
    browser
        .screenshot(&Browser::screenshots().join("cafeteria-barista-queue.png"))
        .await
        .unwrap();
    browser.click_on(&format!("{entry} .step")).await;
    browser
        .wait_status(&entry, "drinkStatus", "Receipted", "the drink is accepted")
        .await;
    browser.click_on(&format!("{entry} .step")).await;
    browser
        .wait_until(
            &format!("return !document.querySelector(\"{entry}\")"),
            "the made drink leaves the queue",
            PATIENCE,
        )
        .await
        .unwrap();
    browser.sign_out().await;

    browser.sign_in(&gateway, "kim", "kim-password").await;
    browser
        .wait_status(
            &item,
            "drinkStatus",
            "Made",
            "the customer sees the drink made",
        )
        .await;
    let shown = browser.text_of(&item).await;
    assert!(
        shown.contains("주문 완료") && shown.contains("제조 완료"),
        "{shown}"
    );
    browser.sign_out().await;

    browser.sign_in(&gateway, "admin", "admin-password").await;
    browser
        .wait_until(
            "return document.querySelector('#shop-total')?.textContent.includes('11,000')",
            "the admin sees the shop's month",
            PATIENCE,
        )
        .await
        .unwrap();
    let shot = Browser::screenshots().join("cafeteria-admin-system.png");
    let services = browser.check_operator_view(&id, &shot).await;
    assert!(
        services.contains("order") && services.contains("payment: closed"),
        "{services}"
    );
    browser.quit().await;
    system.cleanup().await;
}
