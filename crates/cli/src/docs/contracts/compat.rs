//! Whether a contract changed compatibly: a JSON Schema (an event's payload, a request or response
//! body) against its committed self, and a service's OpenAPI document against its committed self.
//! Pure functions over `serde_json` values; `$ref`s are followed inside their own document.
//!
//! Who reads a value decides what breaks. A response is read by clients built against the old
//! document, so everything they knew must still be there with the type they knew. A request is
//! read by the new server from clients built against the old document, so whatever those clients
//! send must still be accepted and nothing new may be demanded of them. An event is both: old
//! consumers read what the new publisher writes, and new code reads the old events still in the
//! log, the outboxes and the dead letters.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What a change broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Change {
    /// A field readers relied on is gone.
    Removed,
    /// A field's type changed: the types (with formats, `|`-joined) it had and has.
    Retyped(String, String),
    /// The values a field may take changed incompatibly: the values it had and has.
    Values(String, String),
    /// A field that was always there may now be absent.
    NowOptional,
    /// A field senders could leave out is now required.
    NowRequired,
    /// A new field is required, which old senders (and old events) lack.
    NewRequired,
    /// The variants of a field (`oneOf`) changed incompatibly.
    Variants(String, String),
    /// A path of the API is gone.
    PathGone,
    /// An operation (a method on a path) is gone.
    OperationGone,
    /// A successful response (its status) is given no more.
    ResponseGone,
}

/// A breaking change: where (an event type, or `<METHOD> <path>` and the part of the operation),
/// the field (dotted; `[]` is an array's item, `*` a map's value) and what changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Break {
    /// The event type, or the operation and its part (`POST /api/reservations request body`).
    pub(super) place: String,
    /// The field, empty for the whole value.
    pub(super) field: String,
    /// What changed.
    pub(super) change: Change,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let field = if self.field.is_empty() {
            String::new()
        } else {
            format!(" field `{}`", self.field)
        };
        let what = match &self.change {
            Change::Removed => "was removed".to_owned(),
            Change::Retyped(from, to) => format!("was retyped from {from} to {to}"),
            Change::Values(from, to) => format!("changed its values from {from} to {to}"),
            Change::NowOptional => "was always present and may now be absent".to_owned(),
            Change::NowRequired => "was optional and is now required".to_owned(),
            Change::NewRequired => "is new and required".to_owned(),
            Change::Variants(from, to) => format!("changed its variants from {from} to {to}"),
            Change::PathGone => "was removed".to_owned(),
            Change::OperationGone => "was removed".to_owned(),
            Change::ResponseGone => "is answered no more".to_owned(),
        };
        write!(f, "{}{field} {what}", self.place)
    }
}

/// The rules a value is held to, by who reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Readers {
    /// Readers built against the old schema read values written to the new one (a response, an
    /// event's consumers).
    pub(super) old_read_new: bool,
    /// Readers built against the new schema read values written to the old one (a request, the
    /// events already published).
    pub(super) new_read_old: bool,
}

/// An event: both ways.
pub(super) const EVENT: Readers = Readers {
    old_read_new: true,
    new_read_old: true,
};
/// A response body, read by old clients.
pub(super) const RESPONSE: Readers = Readers {
    old_read_new: true,
    new_read_old: false,
};
/// A request body or parameter, sent by old clients.
pub(super) const REQUEST: Readers = Readers {
    old_read_new: false,
    new_read_old: true,
};

/// Follows `$ref`s (`#/…` JSON pointers into `root`) until a schema that is not one.
pub(super) fn resolve<'a>(root: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(pointer) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        match pointer.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => value = target,
            None => return value,
        }
    }
    value
}

/// A schema's shape once refs, `allOf` and the nullable `oneOf` are seen through.
#[derive(Default)]
struct Shape<'a> {
    /// `string`, `integer(int64)`, `null`, …; empty: any.
    types: BTreeSet<String>,
    properties: BTreeMap<&'a str, &'a Value>,
    required: BTreeSet<String>,
    items: Option<&'a Value>,
    /// `additionalProperties`: `false` (closed: other fields are refused), or a map's values.
    closed: bool,
    map_values: Option<&'a Value>,
    values: Option<BTreeSet<String>>,
    variants: Vec<&'a Value>,
}

impl<'a> Shape<'a> {
    fn of(root: &'a Value, schema: &'a Value) -> Self {
        Self::within(root, schema, 0)
    }

    /// The shape of `schema`, `depth` compositions deep (a schema composed of itself ends).
    fn within(root: &'a Value, schema: &'a Value, depth: usize) -> Self {
        let mut shape = Shape::default();
        shape.add(root, resolve(root, schema), depth);
        // Variants without a type of their own have the types of their variants.
        if !shape.variants.is_empty() && shape.types.iter().all(|t| t == "null") {
            let kinds: Vec<BTreeSet<String>> = (shape.variants.iter())
                .map(|v| Self::within(root, v, depth + 1).types)
                .collect();
            if kinds.iter().all(|k| !k.is_empty()) {
                shape.types.extend(kinds.into_iter().flatten());
            } else {
                shape.types.clear();
            }
        }
        shape
    }

    fn add(&mut self, root: &'a Value, schema: &'a Value, depth: usize) {
        if depth > 16 {
            return;
        }
        let format = schema.get("format").and_then(Value::as_str);
        let typed = |t: &str| match format {
            Some(format) if t != "null" => format!("{t}({format})"),
            _ => t.to_owned(),
        };
        match schema.get("type") {
            Some(Value::String(t)) => {
                self.types.insert(typed(t));
            }
            Some(Value::Array(types)) => {
                self.types
                    .extend(types.iter().filter_map(Value::as_str).map(typed));
            }
            _ if schema.get("properties").is_some() => {
                self.types.insert("object".to_owned());
            }
            _ => {}
        }
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            self.properties
                .extend(properties.iter().map(|(k, v)| (k.as_str(), v)));
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            self.required
                .extend(required.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        self.items = schema.get("items").or(self.items);
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => self.closed = true,
            Some(values @ Value::Object(_)) => self.map_values = Some(values),
            _ => {}
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            self.values = Some(values.iter().map(Value::to_string).collect());
        } else if let Some(value) = schema.get("const") {
            self.values = Some(BTreeSet::from([value.to_string()]));
        }
        for member in members(schema, "allOf") {
            self.add(root, resolve(root, member), depth + 1);
        }
        for key in ["oneOf", "anyOf"] {
            let members: Vec<&Value> = members(schema, key).map(|m| resolve(root, m)).collect();
            let (nulls, others): (Vec<&Value>, Vec<&Value>) = members
                .into_iter()
                .partition(|m| m.get("type").and_then(Value::as_str) == Some("null"));
            if !nulls.is_empty() {
                self.types.insert("null".to_owned());
            }
            match others.as_slice() {
                [one] if !nulls.is_empty() => self.add(root, one, depth + 1),
                [] => {}
                many => self.variants.extend(many),
            }
        }
    }

    fn types(&self) -> String {
        if self.types.is_empty() {
            "any".to_owned()
        } else {
            self.types.iter().cloned().collect::<Vec<_>>().join("|")
        }
    }
}

fn members<'a>(schema: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    schema
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// Whether every element of `narrow` is in `wide`, an empty `wide` (any type) holding all.
fn within(narrow: &BTreeSet<String>, wide: &BTreeSet<String>) -> bool {
    wide.is_empty() || (!narrow.is_empty() && narrow.is_subset(wide))
}

/// Whether every value `narrow` allows is one `wide` allows, `None` allowing any.
fn values_within(narrow: Option<&BTreeSet<String>>, wide: Option<&BTreeSet<String>>) -> bool {
    match (narrow, wide) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(narrow), Some(wide)) => narrow.is_subset(wide),
    }
}

fn listed(values: &BTreeSet<String>) -> String {
    values.iter().cloned().collect::<Vec<_>>().join("|")
}

/// Compares two schemas, each inside its own document (for `$ref`s).
pub(super) struct Schemas<'a> {
    /// The committed document.
    pub(super) old_root: &'a Value,
    /// The generated document.
    pub(super) new_root: &'a Value,
    /// Who reads.
    pub(super) readers: Readers,
    /// Where the schemas are (an event type, an operation's part), for the report.
    pub(super) place: String,
}

impl Schemas<'_> {
    /// The breaking changes from `old` to `new`, found under field `field`.
    pub(super) fn compare(&self, old: &Value, new: &Value, field: &str) -> Vec<Break> {
        let mut breaks = Vec::new();
        self.walk(old, new, field, &mut breaks, 0);
        breaks
    }

    fn report(&self, breaks: &mut Vec<Break>, field: &str, change: Change) {
        breaks.push(Break {
            place: self.place.clone(),
            field: field.to_owned(),
            change,
        });
    }

    fn walk(&self, old: &Value, new: &Value, field: &str, breaks: &mut Vec<Break>, depth: usize) {
        if depth > 24 {
            return;
        }
        let (old, new) = (Shape::of(self.old_root, old), Shape::of(self.new_root, new));
        let r = self.readers;
        let types_break = (r.old_read_new && !within(&new.types, &old.types))
            || (r.new_read_old && !within(&old.types, &new.types));
        if types_break {
            return self.report(breaks, field, Change::Retyped(old.types(), new.types()));
        }
        let (was, is) = (old.values.as_ref(), new.values.as_ref());
        if (r.old_read_new && !values_within(is, was))
            || (r.new_read_old && !values_within(was, is))
        {
            let any = || "any".to_owned();
            let change = Change::Values(was.map_or_else(any, listed), is.map_or_else(any, listed));
            self.report(breaks, field, change);
        }
        self.properties(&old, &new, field, breaks, depth);
        if let (Some(was), Some(is)) = (old.items, new.items) {
            self.walk(was, is, &format!("{field}[]"), breaks, depth + 1);
        }
        if let (Some(was), Some(is)) = (old.map_values, new.map_values) {
            self.walk(was, is, &format!("{field}.*"), breaks, depth + 1);
        }
        self.variants(&old, &new, field, breaks, depth);
    }

    fn properties(
        &self,
        old: &Shape<'_>,
        new: &Shape<'_>,
        field: &str,
        breaks: &mut Vec<Break>,
        depth: usize,
    ) {
        let r = self.readers;
        let path = |name: &str| {
            if field.is_empty() {
                name.to_owned()
            } else {
                format!("{field}.{name}")
            }
        };
        for (&name, was) in &old.properties {
            let Some(is) = new.properties.get(name) else {
                // Old senders still send it: a closed schema now refuses them.
                if r.old_read_new || (r.new_read_old && new.closed) {
                    self.report(breaks, &path(name), Change::Removed);
                }
                continue;
            };
            let (required_was, required_is) =
                (old.required.contains(name), new.required.contains(name));
            if r.old_read_new && required_was && !required_is {
                self.report(breaks, &path(name), Change::NowOptional);
            }
            if r.new_read_old && !required_was && required_is {
                self.report(breaks, &path(name), Change::NowRequired);
            }
            self.walk(was, is, &path(name), breaks, depth + 1);
        }
        for &name in new.properties.keys() {
            let new_required = new.required.contains(name) && !old.properties.contains_key(name);
            if r.new_read_old && new_required {
                self.report(breaks, &path(name), Change::NewRequired);
            }
        }
    }

    /// `oneOf` variants are matched by their tag (a property or value with one possible value),
    /// else by position.
    fn variants(
        &self,
        old: &Shape<'_>,
        new: &Shape<'_>,
        field: &str,
        breaks: &mut Vec<Break>,
        depth: usize,
    ) {
        if old.variants.is_empty() && new.variants.is_empty() {
            return;
        }
        let was = tags(self.old_root, &old.variants);
        let is = tags(self.new_root, &new.variants);
        let r = self.readers;
        let (was_set, is_set): (BTreeSet<String>, BTreeSet<String>) = (
            was.iter().map(|(t, _)| t.clone()).collect(),
            is.iter().map(|(t, _)| t.clone()).collect(),
        );
        if (r.old_read_new && !is_set.is_subset(&was_set))
            || (r.new_read_old && !was_set.is_subset(&is_set))
        {
            let change = Change::Variants(listed(&was_set), listed(&is_set));
            self.report(breaks, field, change);
        }
        for (tag, old_variant) in &was {
            if let Some((_, new_variant)) = is.iter().find(|(t, _)| t == tag) {
                self.walk(old_variant, new_variant, field, breaks, depth + 1);
            }
        }
    }
}

/// Each variant with its tag: the one value of a property that has one (serde's internally
/// tagged enums), the one property of an object (externally tagged), the one value of the variant
/// itself (unit variants), else its position.
fn tags<'a>(root: &'a Value, variants: &[&'a Value]) -> Vec<(String, &'a Value)> {
    variants
        .iter()
        .enumerate()
        .map(|(i, variant)| {
            let shape = Shape::of(root, variant);
            let single = |s: &Shape<'_>| s.values.as_ref().filter(|v| v.len() == 1).map(listed);
            let tag = single(&shape)
                .or_else(|| {
                    shape.properties.iter().find_map(|(name, property)| {
                        single(&Shape::of(root, property)).map(|v| format!("{name}={v}"))
                    })
                })
                .or_else(|| match shape.properties.keys().collect::<Vec<_>>()[..] {
                    [one] => Some((*one).to_owned()),
                    _ => None,
                })
                .unwrap_or_else(|| format!("#{i}"));
            (tag, *variant)
        })
        .collect()
}

/// The breaking changes between two versions of the JSON Schema of event `event_type` (a
/// standalone schema whose `$ref`s point into itself).
pub(super) fn event(event_type: &str, old: &Value, new: &Value) -> Vec<Break> {
    Schemas {
        old_root: old,
        new_root: new,
        readers: EVENT,
        place: event_type.to_owned(),
    }
    .compare(old, new, "")
}

/// The next version of `event_type` (`….reserved.v1` → `….reserved.v2`).
pub(super) fn next_version(event_type: &str) -> String {
    let (stem, version) = event_type.rsplit_once(".v").unwrap_or((event_type, "1"));
    let next = version.parse::<u32>().map_or(2, |n| n + 1);
    format!("{stem}.v{next}")
}
