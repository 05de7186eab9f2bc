//! The game web UI in a real browser (headless Chromium over WebDriver), on the gateway's kit: a
//! player achieves a mission from the board, sees its reward issued to the wallet and the
//! notification, exchanges it for a gift and follows my page pushed live; the admin restocks a
//! gift and sees the operator's view. Screenshots go to `target/screenshots/`.

use crate::flows::{MANIFEST, MSA};
use std::time::Duration;
use testkit::browser::Browser;
use testkit::system::{Options, TestSystem};

const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn players_achieve_and_exchange_rewards_admins_restock_and_watch() {
    let system = TestSystem::start(MSA, MANIFEST, Options::default()).await;
    let gateway = system.gateway();
    let browser = Browser::open_as(&gateway, "kim", "kim-password", "#missions").await;
    let board = "#missions [data-mission-code='pvp-10']";
    browser.wait_for(board, PATIENCE).await.unwrap();
    browser.click_on(&format!("{board} .achieve")).await;
    let said = browser.answer("an answer to the achievement").await;
    assert!(said.contains("달성했습니다"), "{said}");
    let mission = said
        .rsplit('(')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    let page = format!("#pages [data-mission-id='{mission}']");
    browser
        .wait_status(
            &page,
            "rewardStatus",
            "Issued",
            "my page shows the reward issued, pushed live",
        )
        .await;
    browser
        .wait_until(
            "return document.querySelectorAll('#notices li').length >= 1 && document.querySelector('#entries .exchange')",
            "the wallet entry and its notification",
            PATIENCE,
        )
        .await
        .unwrap();
    browser.choose("#gift", "movie-ticket").await;
    browser.click_on("#entries .exchange").await;
    let said = browser.answer("an answer to the exchange").await;
    assert!(said.contains("교환했습니다"), "{said}");
    browser
        .wait_status(
            &page,
            "giftStatus",
            "HandedOut",
            "my page shows the gift handed out",
        )
        .await;
    browser
        .screenshot(&Browser::screenshots().join("game-player.png"))
        .await
        .unwrap();
    browser.sign_out().await;

    browser.sign_in(&gateway, "admin", "admin-password").await;
    let keyring = "#stock [data-gift-code='keyring']";
    browser.wait_for(keyring, PATIENCE).await.unwrap();
    browser.click_on(&format!("{keyring} .restock")).await;
    browser
        .wait_until(
            &format!("return document.querySelector(\"{keyring}\")?.textContent.includes('8')"),
            "the restocked gift shows its new stock",
            PATIENCE,
        )
        .await
        .unwrap();
    let shot = Browser::screenshots().join("game-admin-system.png");
    let services = browser.check_operator_view(&mission, &shot).await;
    assert!(
        services.contains("wallet") && services.contains("gift: closed"),
        "{services}"
    );
    browser.quit().await;
    system.cleanup().await;
}
