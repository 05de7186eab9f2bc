//! The notification service of the game system, added the way the seed's extension added its
//! email service, without changing any other service's code or store: it subscribes to the
//! wallet's events on its own and tells the player (Korean and English) when a reward is issued
//! (발급) and when an exchange (상품 교환) is done, once per event, through the kernel's
//! notification port (`GET /api/notifications`, or a webhook when configured).

use game_contracts as game;
use kernel::notify::{Notice, NoticeService, NoticeTable as _, Notifying};

/// The templates, Korean and English.
pub const TEMPLATES: &[(&str, &str, &str)] = &[
    (
        "issued",
        "{tier} 리워드 {points}점이 지갑에 발급되었습니다.",
        "A {tier} reward of {points} points was issued to your wallet.",
    ),
    (
        "exchanged",
        "리워드를 {gift}(으)로 교환했습니다.",
        "You exchanged your reward for {gift}.",
    ),
];

/// The service's declaration.
pub struct PlayerNotices;

impl Notifying for PlayerNotices {
    const NOTICES: NoticeService = NoticeService {
        name: "game/notification",
        claim: "player",
        templates: TEMPLATES,
        table: |table| {
            table
                .tell(|e: game::EntryIssued| {
                    Notice::new(&e.player_id, "issued")
                        .with("tier", e.tier)
                        .with("points", e.points)
                })
                .tell(|e: game::Exchanged| {
                    Notice::new(&e.player_id, "exchanged").with("gift", e.gift_name)
                })
        },
    };
}

/// The service as the `msa` binary runs it.
pub const SERVICE: kernel::ServiceDef = kernel::notify::service::<PlayerNotices>("notification");
