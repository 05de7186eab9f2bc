//! Whether a service's OpenAPI document changed compatibly for the clients built against the
//! committed one: every path and operation is still there, every response field they read still
//! comes with its type, and nothing new is demanded of what they send (a required parameter, a
//! required body field). Parameters, bodies and responses may be `$ref`s into the document.

use super::compat::{Break, Change, REQUEST, RESPONSE, Schemas, resolve};
use serde_json::Value;
use std::collections::BTreeMap;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// The breaking changes from the committed document `old` of `service` to the generated `new`.
pub(super) fn breaks(service: &str, old: &Value, new: &Value) -> Vec<Break> {
    let mut breaks = Vec::new();
    let Some(old_paths) = old.get("paths").and_then(Value::as_object) else {
        return breaks;
    };
    for (path, old_item) in old_paths {
        let gone = |change| Break {
            place: format!("{service} {path}"),
            field: String::new(),
            change,
        };
        let Some(new_item) = new.pointer(&format!("/paths/{}", escape(path))) else {
            breaks.push(gone(Change::PathGone));
            continue;
        };
        let (old_item, new_item) = (resolve(old, old_item), resolve(new, new_item));
        for method in METHODS {
            let Some(old_operation) = old_item.get(method) else {
                continue;
            };
            let place = format!("{service} {} {path}", method.to_uppercase());
            let Some(new_operation) = new_item.get(method) else {
                breaks.push(Break {
                    place,
                    field: String::new(),
                    change: Change::OperationGone,
                });
                continue;
            };
            let documents = Documents { old, new };
            let operation = Operation {
                place,
                old: (old_item, old_operation),
                new: (new_item, new_operation),
            };
            documents.parameters(&operation, &mut breaks);
            documents.body(&operation, &mut breaks);
            documents.responses(&operation, &mut breaks);
        }
    }
    breaks
}

/// A JSON pointer token for `key`.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The committed and the generated document.
#[derive(Clone, Copy)]
struct Documents<'a> {
    old: &'a Value,
    new: &'a Value,
}

/// One operation in both documents: its place in the report, and (path item, operation) of each.
struct Operation<'a> {
    place: String,
    old: (&'a Value, &'a Value),
    new: (&'a Value, &'a Value),
}

impl<'a> Documents<'a> {
    fn schemas(&self, place: String, readers: super::compat::Readers) -> Schemas<'a> {
        Schemas {
            old_root: self.old,
            new_root: self.new,
            readers,
            place,
        }
    }

    /// A new required parameter, an optional one now required, or one retyped.
    fn parameters(&self, operation: &Operation<'_>, breaks: &mut Vec<Break>) {
        let old = parameters(self.old, operation.old);
        let new = parameters(self.new, operation.new);
        // A path parameter is required whether the document says so or not.
        let required = |parameter: &Value, place: &str| {
            place == "path" || parameter.get("required").and_then(Value::as_bool) == Some(true)
        };
        for ((name, place), parameter) in &new {
            let field = format!("{name} ({place} parameter)");
            let report = |change| Break {
                place: operation.place.clone(),
                field: field.clone(),
                change,
            };
            let Some(was) = old.get(&(name.clone(), place.clone())) else {
                if required(parameter, place) {
                    breaks.push(report(Change::NewRequired));
                }
                continue;
            };
            if required(parameter, place) && !required(was, place) {
                breaks.push(report(Change::NowRequired));
            }
            if let (Some(was), Some(is)) = (was.get("schema"), parameter.get("schema")) {
                let schemas = self.schemas(operation.place.clone(), REQUEST);
                breaks.extend(schemas.compare(was, is, &field));
            }
        }
    }

    /// A request body now required, or its schema changed against what old clients send.
    fn body(&self, operation: &Operation<'_>, breaks: &mut Vec<Break>) {
        let place = format!("{} request body", operation.place);
        let old = operation
            .old
            .1
            .get("requestBody")
            .map(|b| resolve(self.old, b));
        let new = operation
            .new
            .1
            .get("requestBody")
            .map(|b| resolve(self.new, b));
        let Some(new) = new else { return };
        let required = |body: &Value| body.get("required").and_then(Value::as_bool) == Some(true);
        let report = |change| Break {
            place: place.clone(),
            field: String::new(),
            change,
        };
        let Some(old) = old else {
            if required(new) {
                breaks.push(report(Change::NewRequired));
            }
            return;
        };
        if required(new) && !required(old) {
            breaks.push(report(Change::NowRequired));
        }
        self.contents(old, new, self.schemas(place.clone(), REQUEST), breaks);
    }

    /// A successful response given no more, or a response body changed against what old clients
    /// read.
    fn responses(&self, operation: &Operation<'_>, breaks: &mut Vec<Break>) {
        let Some(old) = operation.old.1.get("responses").and_then(Value::as_object) else {
            return;
        };
        for (status, old_response) in old {
            let place = format!("{} response {status}", operation.place);
            let Some(new_response) = operation.new.1.pointer(&format!("/responses/{status}"))
            else {
                if status.starts_with('2') {
                    breaks.push(Break {
                        place,
                        field: String::new(),
                        change: Change::ResponseGone,
                    });
                }
                continue;
            };
            let (old_response, new_response) = (
                resolve(self.old, old_response),
                resolve(self.new, new_response),
            );
            let schemas = self.schemas(place, RESPONSE);
            self.contents(old_response, new_response, schemas, breaks);
        }
    }

    /// The bodies of `old` and `new` (a request body or a response) by media type: one old
    /// clients send or read that is gone, or whose schema changed incompatibly.
    fn contents(&self, old: &Value, new: &Value, schemas: Schemas<'_>, breaks: &mut Vec<Break>) {
        let Some(old_content) = old.get("content").and_then(Value::as_object) else {
            return;
        };
        for (media, old_media) in old_content {
            let Some(new_media) = new.get("content").and_then(|c| c.get(media)) else {
                breaks.push(Break {
                    place: format!("{} ({media})", schemas.place),
                    field: String::new(),
                    change: Change::Removed,
                });
                continue;
            };
            if let (Some(was), Some(is)) = (old_media.get("schema"), new_media.get("schema")) {
                breaks.extend(schemas.compare(was, is, ""));
            }
        }
    }
}

/// An operation's parameters with its path item's, resolved, by (name, place).
fn parameters<'a>(
    root: &'a Value,
    (item, operation): (&'a Value, &'a Value),
) -> BTreeMap<(String, String), &'a Value> {
    let mut parameters = BTreeMap::new();
    for owner in [item, operation] {
        let listed = owner.get("parameters").and_then(Value::as_array);
        for parameter in listed.into_iter().flatten() {
            let parameter = resolve(root, parameter);
            let text = |key: &str| {
                parameter
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            parameters.insert((text("name"), text("in")), parameter);
        }
    }
    parameters
}
