use super::*;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every system's documents, as `msa board` draws them, by file name.
fn documents(system: &str) -> Vec<(&'static str, String)> {
    let model = describe(system).unwrap();
    vec![
        ("board.svg", board::render(&model)),
        ("context-map.svg", map::render(&model)),
        ("asyncapi.json", format!("{:#}\n", asyncapi::render(&model))),
    ]
}

#[test]
fn every_system_s_declarations_agree_and_its_committed_documents_are_current() {
    let mut stale = Vec::new();
    let mut written = Vec::new();
    for system in systems::names().unwrap() {
        let model = describe(&system).unwrap();
        let problems = check(&model);
        assert!(problems.is_empty(), "{system}: {problems:#?}");
        let built = root().join("target/living-docs").join(&system);
        std::fs::create_dir_all(&built).unwrap();
        for (name, text) in documents(&system) {
            std::fs::write(built.join(name), &text).unwrap();
            let committed = root().join("docs/living").join(&system).join(name);
            if std::env::var_os("MSA_UPDATE_LIVING_DOCS").is_some() {
                std::fs::create_dir_all(committed.parent().unwrap()).unwrap();
                std::fs::write(&committed, &text).unwrap();
            } else if std::fs::read_to_string(&committed).ok().as_deref() != Some(text.as_str()) {
                stale.push(committed.display().to_string());
            }
            if name == "asyncapi.json" {
                written.push(built.join(name));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "the committed living documentation differs from what the code declares: {stale:#?}; \
         regenerate it with `MSA_UPDATE_LIVING_DOCS=1 cargo test -p msa docs::` and commit it"
    );
    // The AsyncAPI initiative's own parser (scripts/asyncapi, installed by scripts/test.sh).
    let validator = root().join("scripts/asyncapi");
    assert!(
        validator.join("node_modules/@asyncapi/parser").is_dir(),
        "the AsyncAPI parser is not installed: run `npm ci --prefix scripts/asyncapi` (scripts/test.sh does)"
    );
    let output = std::process::Command::new("node")
        .arg(validator.join("validate.mjs"))
        .args(&written)
        .output()
        .expect("node runs (scripts/test.sh installs it)");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert_eq!(
        report.matches("valid AsyncAPI 3.0.0").count(),
        written.len(),
        "{report}"
    );
}

#[test]
fn a_policy_waiting_for_an_event_no_service_publishes_is_reported() {
    let mut model = describe("roaming").unwrap();
    assert!(check(&model).is_empty());
    model.parts.retain(|p| p.name() != "rental");
    model
        .manifest
        .glossary
        .retain(|key, _| !key.starts_with("rental"));
    let problems = check(&model);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("roaming/reservation reacts to roaming.rental.handed_out.v1")),
        "{problems:#?}"
    );
    // Publishing what nobody consumes is legal: payment's declined is only read by my page.
    model.parts.retain(|p| p.name() != "customer");
    assert!(!check(&model).iter().any(|p| p.contains("declined")));
}

#[test]
fn a_word_the_glossary_lacks_one_it_keeps_for_nothing_and_an_undeclared_call_are_reported() {
    let mut model = describe("roaming").unwrap();
    model.manifest.glossary.remove("reservation.reserved");
    model
        .manifest
        .glossary
        .insert("reservation.teleported".into(), "순간이동됨".into());
    model.parts[0].entry.calls.clear();
    let problems = check(&model).join("\n");
    assert!(
        problems.contains("no Korean for \"reservation.reserved\" (Reserved)"),
        "{problems}"
    );
    assert!(
        problems.contains("\"reservation.teleported\", which the system does not have"),
        "{problems}"
    );
    assert!(
        problems
            .contains("roaming/reservation calls [\"payment\"] in its code but [] in system.toml"),
        "{problems}"
    );
}

#[test]
fn the_board_shows_every_kind_of_sticker_in_both_languages_and_the_map_the_edges() {
    let model = describe("roaming").unwrap();
    let board = board::render(&model);
    for (colour, what) in [
        ("#90caf9", "command"),
        ("#fff176", "aggregate"),
        ("#ffb74d", "domain event"),
        ("#ce93d8", "policy"),
        ("#a5d6a7", "read model"),
        ("#f48fb1", "external system"),
    ] {
        assert!(
            board.matches(&format!("fill=\"{colour}\"")).count() > 1,
            "no {what} sticker"
        );
    }
    for words in [
        "Reserve",
        "예약하기",
        "Reservation",
        "Reserved",
        "예약 확정됨",
        "When rental handed out",
        "기기 전달됨 시",
        "External system: Payment",
        "Folds 6 Rental events",
    ] {
        assert!(board.contains(words), "the board lacks {words:?}");
    }
    assert!(board.contains("reservation → payment: request-response behind a circuit breaker"));
    let map = map::render(&model);
    for words in [
        "Reservation · 예약",
        "core 핵심",
        "generic 일반",
        "read model 조회 모델",
        "subject = reservationId",
        "request-response",
        "Payment approved",
    ] {
        assert!(map.contains(words), "the map lacks {words:?}");
    }
    let asyncapi = asyncapi::render(&model);
    assert_eq!(asyncapi["asyncapi"], "3.0.0");
    let channel = &asyncapi["channels"]["roaming.payment.approved.v1"];
    assert_eq!(
        channel["address"],
        "roaming.{partition}.payment.approved.v1"
    );
    let message = &asyncapi["components"]["messages"]["payment.approved"];
    assert_eq!(
        message["payload"]["properties"]["type"]["const"],
        "roaming.payment.approved.v1"
    );
    assert_eq!(
        asyncapi["components"]["correlationIds"]["subject"]["location"],
        "$message.payload#/subject"
    );
    assert_eq!(
        asyncapi["operations"]["customer.receives.payment.approved"]["action"],
        "receive"
    );
    assert_eq!(
        asyncapi["operations"]["payment.sends.payment.approved"]["action"],
        "send"
    );
    assert!(asyncapi["components"]["schemas"]["ReservationTerms"].is_object());
}
