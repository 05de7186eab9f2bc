//! The web UI in a real browser (headless Chromium over WebDriver): a customer signs in,
//! reserves and sees the reservation on my page; booth staff hand out and collect; the operator
//! sees the system. Screenshots of the three main pages go to `target/screenshots/`.

use crate::helpers::{Options, System};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use testkit::browser::Browser;

const PATIENCE: Duration = Duration::from_secs(30);

fn screenshots() -> PathBuf {
    Browser::screenshots()
}

async fn sign_in(browser: &Browser, system: &System, username: &str, password: &str) {
    browser.sign_in(&system.gateway(), username, password).await;
}

async fn sign_out(browser: &Browser) {
    browser.sign_out().await;
}

async fn choose(browser: &Browser, select: &str, value: &str) {
    browser.choose(select, value).await;
}

async fn reserve(browser: &Browser, card: &str) -> String {
    let field = browser.find("#card-number").await.unwrap().unwrap();
    browser.type_into(&field, card).await.unwrap();
    browser
        .click(&browser.find("#reserve").await.unwrap().unwrap())
        .await
        .unwrap();
    browser.answer("an answer to the reservation").await
}

#[tokio::test]
async fn customers_reserve_and_follow_their_reservation_booths_hand_out_and_collect_operators_watch()
 {
    let system = System::start(Options::default()).await;
    let browser = Browser::start()
        .await
        .expect("headless Chromium starts (install chromium and chromium-driver)");
    // The documents' users are Korean: start in Korean (English is checked at the end).
    browser
        .goto(&format!("{}/", system.gateway()))
        .await
        .unwrap();
    browser
        .execute("localStorage.setItem('lang', 'ko')", json!([]))
        .await
        .unwrap();

    // A customer signs in, sees the price before paying, and reserves.
    sign_in(&browser, &system, "kim", "kim-password").await;
    browser.wait_for("#reserve-form", PATIENCE).await.unwrap();
    choose(&browser, "#device-model", "galaxy-s24").await;
    choose(&browser, "#booth", "ICN-T1").await;
    let price = browser.text_of("#price").await;
    assert!(
        price.contains("39,600"),
        "the price is shown before paying: {price}"
    );
    let declined = reserve(&browser, "4000000000000002").await;
    assert!(declined.contains("카드가 거절되었습니다"), "{declined}");
    let answer = reserve(&browser, "4242424242424242").await;
    assert!(answer.contains("예약되었습니다"), "{answer}");
    let id = answer
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();

    // My page shows it with the booth's acceptance, updating by itself.
    let item = format!("#my-reservations [data-reservation-id='{id}']");
    browser
        .wait_status(
            &item,
            "rental",
            "Accepted",
            "my page shows the booth accepted",
        )
        .await;
    let shown = browser.text_of(&item).await;
    assert!(
        shown.contains("예약 완료") && shown.contains("결제 완료") && shown.contains("부스 접수"),
        "{shown}"
    );
    assert!(
        browser
            .find(&format!("{item} .cancel"))
            .await
            .unwrap()
            .is_some(),
        "cancel is offered while reserved"
    );
    assert!(
        browser
            .find(&format!("{item} .return"))
            .await
            .unwrap()
            .is_none(),
        "return is not offered yet"
    );
    browser
        .screenshot(&screenshots().join("customer-my-page.png"))
        .await
        .unwrap();
    sign_out(&browser).await;

    // Booth staff hand the device out.
    sign_in(&browser, &system, "booth-icn-t1", "booth-password").await;
    let entry = format!("#queue [data-reservation-id='{id}']");
    browser.wait_for(&entry, PATIENCE).await.unwrap();
    let serial = browser
        .find(&format!("{entry} .serial"))
        .await
        .unwrap()
        .unwrap();
    browser.type_into(&serial, "SN-2026-0001").await.unwrap();
    browser
        .screenshot(&screenshots().join("booth-queue.png"))
        .await
        .unwrap();
    browser
        .click(
            &browser
                .find(&format!("{entry} .hand-out"))
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    browser
        .wait_until(
            &format!(
                "return document.querySelector(\"{entry}\")?.dataset.rentalStatus === 'HandedOut'"
            ),
            "handed out at the booth",
            PATIENCE,
        )
        .await
        .unwrap();
    sign_out(&browser).await;

    // The customer returns it: the return button appears once the device is out.
    sign_in(&browser, &system, "kim", "kim-password").await;
    let return_button = browser
        .wait_for(&format!("{item} .return"), PATIENCE)
        .await
        .unwrap();
    assert!(
        browser
            .find(&format!("{item} .cancel"))
            .await
            .unwrap()
            .is_none(),
        "no cancel after hand-out"
    );
    browser.click(&return_button).await.unwrap();
    browser
        .wait_status(&item, "reservation", "Returned", "my page shows the return")
        .await;
    sign_out(&browser).await;

    // The booth collects it.
    sign_in(&browser, &system, "booth-icn-t1", "booth-password").await;
    let collect = browser
        .wait_for(&format!("{entry} .collect"), PATIENCE)
        .await
        .unwrap();
    browser.click(&collect).await.unwrap();
    browser
        .wait_until(
            &format!("return !document.querySelector(\"{entry}\")"),
            "the collected device leaves the queue",
            PATIENCE,
        )
        .await
        .unwrap();
    let (_, rental) = system.get(&format!("/api/rentals/{id}")).await;
    assert_eq!(rental["status"], "Collected");
    sign_out(&browser).await;

    // The operator watches the system.
    sign_in(&browser, &system, "admin", "admin-password").await;
    let shot = screenshots().join("admin-system.png");
    let services = browser.check_operator_view(&id, &shot).await;
    assert!(
        services.contains("reservation") && services.contains("payment: closed"),
        "{services}"
    );
    browser.quit().await;
    system.cleanup().await;
}

#[tokio::test]
async fn the_booth_queue_keeps_a_half_typed_serial_while_a_new_rental_arrives() {
    let system = System::start(Options::default()).await;
    let browser = Browser::start()
        .await
        .expect("headless Chromium starts (install chromium and chromium-driver)");
    let first = system.reserved("kim").await;
    sign_in(&browser, &system, "booth-icn-t1", "booth-password").await;
    let entry = format!("#queue [data-reservation-id='{first}']");
    browser.wait_for(&entry, PATIENCE).await.unwrap();
    let serial = browser
        .find(&format!("{entry} .serial"))
        .await
        .unwrap()
        .unwrap();
    browser.type_into(&serial, "SN-20").await.unwrap();

    // A new paid reservation reaches the booth while the serial is half typed.
    let second = system.reserved("lee").await;
    browser
        .wait_for(
            &format!("#queue [data-reservation-id='{second}']"),
            PATIENCE,
        )
        .await
        .unwrap();
    let kept = browser
        .execute(
            "return document.querySelector(arguments[0]).value",
            json!([format!("{entry} .serial")]),
        )
        .await
        .unwrap();
    assert_eq!(
        kept,
        json!("SN-20"),
        "the half-typed serial survived the refresh"
    );
    browser.type_into(&serial, "SN-2026-0001").await.unwrap();
    browser
        .click(
            &browser
                .find(&format!("{entry} .hand-out"))
                .await
                .unwrap()
                .unwrap(),
        )
        .await
        .unwrap();
    browser
        .wait_until(
            &format!(
                "return document.querySelector(\"{entry}\")?.dataset.rentalStatus === 'HandedOut'"
            ),
            "handed out with the whole serial",
            PATIENCE,
        )
        .await
        .unwrap();
    let (_, rental) = system.get(&format!("/api/rentals/{first}")).await;
    assert_eq!(rental["deviceSerial"], "SN-2026-0001");
    browser.quit().await;
    system.cleanup().await;
}
