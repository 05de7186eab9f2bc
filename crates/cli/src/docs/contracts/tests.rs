use super::compat::{Break, Change};
use super::*;
use std::path::PathBuf;

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/contracts")
}

#[test]
fn every_published_contract_is_committed_and_no_change_breaks_one() {
    let mut generated = Files::new();
    for system in systems::names().unwrap() {
        generated.extend(generate(&system).unwrap());
    }
    let committed = read(&folder()).unwrap();
    let review = review(&committed, &generated);
    let update = std::env::var(UPDATE).ok();
    assert!(
        review.breaks.is_empty() || update.as_deref() == Some("breaking"),
        "these changes break published contracts:\n  {}\n\
         Publish a changed event as a new version beside the old one, and keep each API \
         compatible for the clients it has. Only if nothing depends on the committed contract \
         yet, accept the break with `{}` and say why in the commit.",
        review.breaks.join("\n  "),
        refresh("breaking"),
    );
    if update.is_some() {
        write(&folder(), &committed, &generated).unwrap();
        return;
    }
    assert!(
        review.stale.is_empty(),
        "the committed contracts under docs/contracts/ differ from what the code generates \
         (compatibly): {:#?}; refresh them with `{}` and commit them",
        review.stale,
        refresh("1"),
    );
}

const RESERVED: &str = "roaming.reservation.reserved.v1";

/// Reserved's schema as the code generates it.
fn reserved() -> Value {
    event_schema(
        RESERVED,
        &Contract::of::<roaming_contracts::events::Reserved>(),
    )
}

/// The reservation service's API document as the code generates it.
fn reservation_api() -> Value {
    serde_json::to_value((roaming_reservation::SERVICE.openapi)()).unwrap()
}

/// `value` with the part at `pointer` edited by `edit`.
fn edited(value: &Value, pointer: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut value = value.clone();
    edit(value.pointer_mut(pointer).unwrap());
    value
}

fn object(value: &mut Value) -> &mut serde_json::Map<String, Value> {
    value.as_object_mut().unwrap()
}

fn broken(place: &str, field: &str, change: Change) -> Break {
    Break {
        place: place.to_owned(),
        field: field.to_owned(),
        change,
    }
}

/// What the review says of a committed `old` event schema when the code generates `new`.
fn reviewed(old: &Value, new: &Value) -> Review {
    let path = format!("roaming/events/{RESERVED}.json");
    review(
        &Files::from([(path.clone(), text(old))]),
        &Files::from([(path, text(new))]),
    )
}

#[test]
fn an_event_schema_stands_alone_with_its_refs_pointing_into_it() {
    let schema = reserved();
    assert_eq!(
        schema["properties"]["terms"]["$ref"],
        "#/$defs/ReservationTerms"
    );
    assert_eq!(
        schema["$defs"]["ReservationTerms"]["properties"]["amount"]["type"],
        "integer"
    );
    assert!(compat::event(RESERVED, &schema, &schema).is_empty());
}

#[test]
fn an_optional_field_added_to_a_published_event_is_compatible_but_asks_for_a_refresh() {
    let old = reserved();
    let new = edited(&old, "/properties", |p| {
        object(p).insert("note".into(), json!({ "type": ["string", "null"] }));
    });
    assert_eq!(compat::event(RESERVED, &old, &new), []);
    let review = reviewed(&old, &new);
    assert!(review.breaks.is_empty(), "{:?}", review.breaks);
    assert_eq!(review.stale, [format!("roaming/events/{RESERVED}.json")]);
}

#[test]
fn a_field_removed_from_a_published_event_breaks_it_and_asks_for_the_next_version() {
    let old = reserved();
    let new = edited(&old, "/$defs/ReservationTerms", |terms| {
        object(&mut terms["properties"]).remove("booth");
        let required = terms["required"].as_array_mut().unwrap();
        required.retain(|name| name != "booth");
    });
    assert_eq!(
        compat::event(RESERVED, &old, &new),
        [broken(RESERVED, "terms.booth", Change::Removed)]
    );
    let review = reviewed(&old, &new);
    assert_eq!(review.breaks.len(), 1, "{:?}", review.breaks);
    let message = &review.breaks[0];
    assert!(
        message.contains("field `terms.booth` was removed"),
        "{message}"
    );
    assert!(
        message.contains("publish a new version roaming.reservation.reserved.v2"),
        "{message}"
    );
}

#[test]
fn a_retyped_field_breaks_a_published_event_even_behind_a_ref_or_when_it_may_become_null() {
    let old = reserved();
    let amount = edited(
        &old,
        "/$defs/ReservationTerms/properties/amount",
        |amount| {
            *amount = json!({ "type": "string" });
        },
    );
    assert_eq!(
        compat::event(RESERVED, &old, &amount),
        [broken(
            RESERVED,
            "terms.amount",
            Change::Retyped("integer(int64)".into(), "string".into())
        )]
    );
    let nullable = edited(&old, "/properties/paymentId", |id| {
        id["type"] = json!(["string", "null"]);
    });
    assert_eq!(
        compat::event(RESERVED, &old, &nullable),
        [broken(
            RESERVED,
            "paymentId",
            Change::Retyped("string".into(), "null|string".into())
        )]
    );
}

#[test]
fn a_new_required_field_or_an_optional_one_made_required_breaks_a_published_event() {
    let old = reserved();
    let new = edited(&old, "", |schema| {
        object(&mut schema["properties"]).insert("note".into(), json!({ "type": "string" }));
        schema["required"] = json!(["terms", "paymentId", "note"]);
    });
    assert_eq!(
        compat::event(RESERVED, &old, &new),
        [broken(RESERVED, "note", Change::NewRequired)]
    );
    let optional = edited(&old, "/required", |required| *required = json!(["terms"]));
    assert_eq!(
        compat::event(RESERVED, &optional, &old),
        [broken(RESERVED, "paymentId", Change::NowRequired)]
    );
    // And the other way: consumers relied on it always being there.
    assert_eq!(
        compat::event(RESERVED, &old, &optional),
        [broken(RESERVED, "paymentId", Change::NowOptional)]
    );
}

#[test]
fn the_values_and_variants_of_a_published_event_field_are_fixed() {
    let old = json!({
        "type": "object",
        "required": ["status", "method"],
        "properties": {
            "status": { "type": "string", "enum": ["Reserved", "Canceled"] },
            "method": { "oneOf": [
                { "type": "object", "properties": { "kind": { "type": "string", "enum": ["card"] }, "number": { "type": "string" } } },
                { "type": "object", "properties": { "kind": { "type": "string", "enum": ["cash"] } } },
            ] },
        },
    });
    let more = edited(&old, "/properties", |p| {
        p["status"]["enum"] = json!(["Reserved", "Canceled", "Lost"]);
        p["method"]["oneOf"][1]["properties"]["kind"]["enum"] = json!(["voucher"]);
        p["method"]["oneOf"][0]["properties"]["number"]["type"] = json!("integer");
    });
    let place = "x.y.z.v1";
    assert_eq!(
        compat::event(place, &old, &more),
        [
            broken(
                place,
                "method",
                Change::Variants(
                    "kind=\"card\"|kind=\"cash\"".into(),
                    "kind=\"card\"|kind=\"voucher\"".into()
                )
            ),
            broken(
                place,
                "method.number",
                Change::Retyped("string".into(), "integer".into())
            ),
            broken(
                place,
                "status",
                Change::Values(
                    "\"Canceled\"|\"Reserved\"".into(),
                    "\"Canceled\"|\"Lost\"|\"Reserved\"".into()
                )
            ),
        ]
    );
}

#[test]
fn a_field_whose_variants_may_now_be_null_is_retyped() {
    let old = json!({
        "type": "object",
        "required": ["method"],
        "properties": { "method": { "oneOf": [
            { "type": "object", "properties": { "card": { "type": "string" } } },
            { "type": "object", "properties": { "cash": { "type": "integer" } } },
        ] } },
    });
    let new = edited(&old, "/properties/method/oneOf", |variants| {
        variants
            .as_array_mut()
            .unwrap()
            .push(json!({ "type": "null" }));
    });
    assert_eq!(
        compat::event("x.y.z.v1", &old, &new),
        [broken(
            "x.y.z.v1",
            "method",
            Change::Retyped("object".into(), "null|object".into())
        )]
    );
    let request = compat::Schemas {
        old_root: &old,
        new_root: &new,
        readers: compat::REQUEST,
        place: "POST /x request body".into(),
    };
    assert_eq!(request.compare(&old, &new, ""), []);
}

#[test]
fn an_event_published_no_more_breaks_unless_a_newer_version_replaces_it() {
    let v1 = format!("roaming/events/{RESERVED}.json");
    let v2 = "roaming/events/roaming.reservation.reserved.v2.json".to_owned();
    let committed = Files::from([(v1.clone(), text(&reserved()))]);
    let gone = review(&committed, &Files::new());
    assert_eq!(gone.breaks.len(), 1);
    assert!(
        gone.breaks[0].contains(&format!("{RESERVED} is published no more")),
        "{:?}",
        gone.breaks
    );
    let replaced = review(&committed, &Files::from([(v2.clone(), text(&reserved()))]));
    assert!(replaced.breaks.is_empty(), "{:?}", replaced.breaks);
    assert_eq!(replaced.stale, [v1, v2]);
    assert_eq!(
        compat::next_version("game.wallet.issued.v9"),
        "game.wallet.issued.v10"
    );
}

const API: &str = "roaming/reservation";

#[test]
fn a_removed_path_or_operation_breaks_the_api() {
    let old = reservation_api();
    let new = edited(&old, "/paths", |paths| {
        object(paths).remove("/api/reservations/{id}/return");
        object(&mut paths["/api/reservations"]).remove("get");
    });
    assert_eq!(
        openapi::breaks(API, &old, &new),
        [
            broken(
                &format!("{API} GET /api/reservations"),
                "",
                Change::OperationGone
            ),
            broken(
                &format!("{API} /api/reservations/{{id}}/return"),
                "",
                Change::PathGone
            ),
        ]
    );
    let path = "roaming/openapi/reservation.json".to_owned();
    let review = review(
        &Files::from([(path.clone(), text(&old))]),
        &Files::from([(path, text(&new))]),
    );
    assert!(
        review.breaks[0]
            .contains("GET /api/reservations was removed: clients of the committed API break"),
        "{:?}",
        review.breaks
    );
}

#[test]
fn a_removed_or_retyped_response_field_breaks_the_api_through_its_ref() {
    let old = reservation_api();
    let one = format!("{API} GET /api/reservations/{{id}} response 200");
    let removed = edited(&old, "/components/schemas/ReservationDto/properties", |p| {
        object(p).remove("status");
    });
    let breaks = openapi::breaks(API, &old, &removed);
    assert!(
        breaks.contains(&broken(&one, "status", Change::Removed)),
        "{breaks:#?}"
    );
    let retyped = edited(
        &old,
        "/components/schemas/ReservationDto/properties/handedOut",
        |handed_out| handed_out["type"] = json!(["boolean", "null"]),
    );
    let change = Change::Retyped("boolean".into(), "boolean|null".into());
    let breaks = openapi::breaks(API, &old, &retyped);
    assert!(
        breaks.contains(&broken(&one, "handedOut", change)),
        "{breaks:#?}"
    );
    // A list's items are followed too: GET /api/reservations shows a page of them.
    assert!(
        breaks
            .iter()
            .any(|b| b.place.contains("GET /api/reservations response 200")
                && b.field.ends_with("[].handedOut")),
        "{breaks:#?}"
    );
}

#[test]
fn a_new_required_request_field_or_parameter_breaks_the_api() {
    let old = reservation_api();
    let new = edited(&old, "", |document| {
        let request = &mut document["components"]["schemas"]["ReserveRequest"];
        object(&mut request["properties"]).insert("passport".into(), json!({ "type": "string" }));
        request["required"]
            .as_array_mut()
            .unwrap()
            .push(json!("passport"));
        let list = &mut document["paths"]["/api/reservations"]["get"]["parameters"];
        list[0]["required"] = json!(true);
        list.as_array_mut().unwrap().push(
            json!({ "name": "booth", "in": "query", "required": true, "schema": { "type": "string" } }),
        );
    });
    let get = format!("{API} GET /api/reservations");
    assert_eq!(
        openapi::breaks(API, &old, &new),
        [
            broken(&get, "booth (query parameter)", Change::NewRequired),
            broken(&get, "customerId (query parameter)", Change::NowRequired),
            broken(
                &format!("{API} POST /api/reservations request body"),
                "passport",
                Change::NewRequired
            ),
        ]
    );
}

#[test]
fn optional_request_fields_new_response_fields_and_new_paths_are_compatible() {
    let old = reservation_api();
    let new = edited(&old, "", |document| {
        let schemas = &mut document["components"]["schemas"];
        object(&mut schemas["ReserveRequest"]["properties"])
            .insert("note".into(), json!({ "type": ["string", "null"] }));
        object(&mut schemas["ReservationDto"]["properties"])
            .insert("insured".into(), json!({ "type": "boolean" }));
        schemas["ReservationDto"]["required"]
            .as_array_mut()
            .unwrap()
            .push(json!("insured"));
        let list = &mut document["paths"]["/api/reservations"]["get"]["parameters"];
        list.as_array_mut().unwrap().push(
            json!({ "name": "booth", "in": "query", "required": false, "schema": { "type": "string" } }),
        );
        let paths = object(&mut document["paths"]);
        let catalog = paths["/api/catalog"].clone();
        paths.insert("/api/insurance".into(), catalog);
    });
    assert_eq!(openapi::breaks(API, &old, &new), []);
}

#[test]
fn a_request_field_dropped_from_a_closed_body_breaks_the_clients_that_still_send_it() {
    let old = reservation_api();
    let open = edited(&old, "/components/schemas/ReserveRequest", |request| {
        object(request).remove("additionalProperties");
        object(&mut request["properties"]).remove("customerId");
    });
    assert_eq!(openapi::breaks(API, &old, &open), []);
    let closed = edited(&old, "/components/schemas/ReserveRequest/properties", |p| {
        object(p).remove("customerId");
    });
    assert_eq!(
        openapi::breaks(API, &old, &closed),
        [broken(
            &format!("{API} POST /api/reservations request body"),
            "customerId",
            Change::Removed
        )]
    );
}
