//! Game's chaos profile. Players achieve missions of the board — once per player, so the load
//! soon meets `409 already_achieved`, which is part of what it tests — and exchange the wallet's
//! issued entries for gifts, whose stock the operator tops up at the start. Invariants, beyond
//! every order's (`orders.rs`, over the missions): no mission achieved twice by one player; one
//! reward, hence one wallet entry, per achievement; gift stock exactly what was stocked less the
//! entries exchanged.

use super::orders::{Made, Orders};
use super::{ChaosProfile, Check, Ctx, Ledger, pick};
use serde_json::{Value, json};
use std::collections::HashSet;

const ORDERS: Orders = Orders {
    base: "/api/missions",
    view: "/api/mypage/missions",
    view_field: "missionStatus",
    paid_while: None,
    transient: &[],
    failed: None,
    reflects: |recorded, now| now == recorded,
};

/// Units added to every gift at the start.
const RESTOCK: u64 = 10_000;

/// The game profile.
#[derive(Debug, Default)]
pub(crate) struct Game {
    missions: Ledger<Made>,
    codes: std::sync::Mutex<Vec<String>>,
    gifts: std::sync::Mutex<Vec<String>>,
    /// Every gift's stock once topped up.
    stocked: std::sync::atomic::AtomicI64,
}

fn one_of(items: &std::sync::Mutex<Vec<String>>) -> Option<String> {
    let items = items.lock().expect("catalog lock");
    items.get(fastrand::usize(0..items.len().max(1))).cloned()
}

fn total_stock(gifts: &Value) -> i64 {
    let gifts = gifts.as_array().into_iter().flatten();
    gifts.filter_map(|g| g["stock"].as_i64()).sum()
}

impl Game {
    async fn achieve(&self, ctx: &Ctx) {
        let Some(code) = one_of(&self.codes) else {
            return;
        };
        let player = ctx.customer();
        let body = json!({ "missionCode": code });
        let answer = ctx
            .client
            .command(&player.token, ORDERS.base, &ctx.key("achieve"), body)
            .await;
        ORDERS.made(&self.missions, &player.name, &answer);
    }

    async fn exchange(&self, ctx: &Ctx) {
        let player = ctx.customer();
        let entries = ctx
            .client
            .list(&player.token, "/api/wallet")
            .await
            .unwrap_or_default();
        let issued: Vec<&Value> = entries.iter().filter(|e| e["status"] == "Issued").collect();
        let (Some(entry), Some(gift)) = (
            issued.get(fastrand::usize(0..issued.len().max(1))),
            one_of(&self.gifts),
        ) else {
            return;
        };
        let path = format!(
            "/api/wallet/{}/exchange",
            entry["id"].as_str().unwrap_or_default()
        );
        let body = json!({ "giftCode": gift });
        ctx.client
            .command(&player.token, &path, &ctx.key("exchange"), body)
            .await;
    }
}

#[async_trait::async_trait]
impl ChaosProfile for Game {
    fn view(&self) -> &'static str {
        "mypage"
    }

    async fn setup(&self, ctx: &Ctx) -> anyhow::Result<()> {
        let board = ctx.client.read(&ctx.admin, "/api/missions/catalog").await;
        let codes = board.body.as_array().into_iter().flatten();
        *self.codes.lock().expect("catalog lock") = codes
            .filter_map(|m| m["missionCode"].as_str().map(str::to_owned))
            .collect();
        let gifts = ctx.client.read(&ctx.admin, "/api/gifts").await;
        let gifts: Vec<String> = gifts
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["giftCode"].as_str().map(str::to_owned))
            .collect();
        anyhow::ensure!(!gifts.is_empty(), "the gift catalog is empty");
        for gift in &gifts {
            let path = format!("/api/gifts/{gift}/restock");
            let body = json!({ "quantity": RESTOCK });
            let answer = ctx
                .client
                .command(&ctx.admin, &path, &ctx.key("restock"), body)
                .await;
            anyhow::ensure!(answer.ok(), "cannot restock {gift}: {}", answer.body);
        }
        *self.gifts.lock().expect("catalog lock") = gifts;
        let stocked = ctx.client.read(&ctx.admin, "/api/gifts").await;
        self.stocked.store(
            total_stock(&stocked.body),
            std::sync::atomic::Ordering::SeqCst,
        );
        Ok(())
    }

    async fn step(&self, ctx: &Ctx) {
        if pick(&[(3, true), (2, false)]) {
            self.achieve(ctx).await;
        } else {
            self.exchange(ctx).await;
        }
    }

    async fn invariants(&self, ctx: &Ctx) -> Vec<Check> {
        let listed = ORDERS.listed(ctx).await;
        let mut checks = ORDERS.checks(ctx, &self.missions, &listed).await;
        let mut once = Check::new("each mission achieved once per player");
        let mut seen = HashSet::new();
        for mission in &listed {
            let key = (
                mission["playerId"].to_string(),
                mission["missionCode"].to_string(),
            );
            once.expect(seen.insert(key.clone()), || {
                format!("{} achieved {} twice", key.0, key.1)
            });
        }
        let mut rewarded = Check::new("one reward (wallet entry) per achievement");
        let mut exchanged = 0;
        for player in &ctx.customers {
            let missions = listed
                .iter()
                .filter(|m| m["playerId"] == player.name.as_str())
                .count();
            let entries = ctx
                .client
                .list(&player.token, "/api/wallet")
                .await
                .unwrap_or_default();
            exchanged += entries
                .iter()
                .filter(|e| e["status"] == "Exchanged")
                .count() as i64;
            rewarded.expect(entries.len() == missions, || {
                format!(
                    "{}: {missions} achievements, {} wallet entries",
                    player.name,
                    entries.len()
                )
            });
        }
        let mut stock = Check::new("gift stock exact (stocked less exchanged)");
        let now = total_stock(&ctx.client.read(&ctx.admin, "/api/gifts").await.body);
        let stocked = self.stocked.load(std::sync::atomic::Ordering::SeqCst);
        stock.expect(now == stocked - exchanged, || {
            format!("{now} in stock, {stocked} stocked less {exchanged} exchanged")
        });
        checks.extend([once, rewarded, stock]);
        checks
    }

    fn documents(&self, ctx: &Ctx) -> Vec<(String, String)> {
        ORDERS.documents(ctx, &self.missions)
    }
}
