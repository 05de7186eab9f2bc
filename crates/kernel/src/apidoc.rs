//! Pieces of hand-built API documents (for routes written once for many services, whose
//! handlers are generic and so cannot carry `utoipa` annotations): a secured operation with its
//! parameters, and a response carrying a named schema; and the answers every operation of a
//! system can give besides its own ([`complete`]).

use utoipa::openapi::path::{
    Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder};

/// An operation tagged `tag` that needs a bearer token, with `parameters` (name, place); each
/// parameter's schema says what the kernel's routes accept for it ([`parameter`]).
pub fn secured(tag: &str, summary: String, parameters: &[(&str, ParameterIn)]) -> OperationBuilder {
    let mut operation = OperationBuilder::new()
        .tag(tag)
        .summary(Some(summary))
        .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    for (name, place) in parameters {
        operation = operation.parameter(parameter(name, place.clone()));
    }
    operation
}

/// A parameter of the kernel's routes: `limit` 1 to 100 and `cursor` a number (the paging's
/// bounds, `http::Paging`), anything else a string; path parameters are required.
pub fn parameter(name: &str, place: ParameterIn) -> Parameter {
    let schema = match name {
        "limit" => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(100)),
        "cursor" => ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9]{1,9}$")),
        // An owner named by an operator (`customerId`) is ignored for a customer, whose token
        // names them: any text is accepted.
        _ => ObjectBuilder::new().schema_type(Type::String),
    };
    let required = if place == ParameterIn::Path {
        Required::True
    } else {
        Required::False
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(required)
        .schema(Some(schema))
        .build()
}

/// A query parameter `name` that takes one of `values` (a queue's statuses).
pub fn one_of(name: &str, values: &[&str]) -> Parameter {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()));
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .schema(Some(schema))
        .build()
}

/// A JSON response described as `description` whose body is component schema `schema`.
pub fn showing(description: &str, schema: &str) -> Response {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(schema)))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
}

/// The document of a collection's two reads: `GET <base>` (`page`) and `GET <base>/{id}` (`one`).
pub fn list_and_one(
    base: &str,
    page: utoipa::openapi::path::Operation,
    one: utoipa::openapi::path::Operation,
) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::HttpMethod;
    use utoipa::openapi::{OpenApiBuilder, PathItem, PathsBuilder};
    OpenApiBuilder::new()
        .paths(
            PathsBuilder::new()
                .path(base, PathItem::new(HttpMethod::Get, page))
                .path(
                    format!("{base}/{{id}}"),
                    PathItem::new(HttpMethod::Get, one),
                ),
        )
        .build()
}

/// The answers of the edge and the kernel's extractors that an operation gives besides its own,
/// each with the error body: `401`, `403` and `429` (the gateway: no or a bad token, a role the
/// access rule does not name, over the rate limit) on an operation that needs a token; `400` on
/// one with parameters or a body (a malformed query, path or JSON body); `404` on one with path
/// parameters; `415` and `422` on one with a body (not sent as JSON, or not fitting its schema).
/// What an operation documents itself is kept. An `Idempotency-Key` header an operation declares
/// gets the schema the kernel's extractor holds it to.
pub fn complete(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    components
        .schemas
        .entry("ErrorBody".to_owned())
        .or_insert_with(<crate::http::ErrorBody<'_> as utoipa::PartialSchema>::schema);
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for parameter in operation.parameters.iter_mut().flatten() {
                if parameter.parameter_in == ParameterIn::Header
                    && parameter
                        .name
                        .eq_ignore_ascii_case(crate::http::IDEMPOTENCY_KEY)
                {
                    parameter.schema = Some(idempotency_key().into());
                }
            }
            for (status, description) in common_answers(operation) {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(showing(description, "ErrorBody")));
            }
        }
    }
}

/// What [`crate::http::IdempotencyKey`] accepts: 1 to 128 visible ASCII characters.
fn idempotency_key() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[!-~]{1,128}$"))
}

fn common_answers(operation: &Operation) -> Vec<(&'static str, &'static str)> {
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let body = operation.request_body.is_some();
    let mut answers = Vec::new();
    if secured {
        answers.push(("401", "unauthenticated, invalid_token"));
        answers.push(("403", "forbidden: the token lacks a role this route needs"));
        answers.push(("429", "rate_limited: try again after Retry-After"));
    }
    if body || !parameters.is_empty() {
        answers.push(("400", "invalid_query, invalid_path, malformed_json"));
    }
    if parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Path)
    {
        answers.push(("404", "not found"));
    }
    if body {
        answers.push(("415", "unsupported_media_type: send JSON"));
        answers.push(("422", "invalid_body: the body does not fit its schema"));
    }
    answers
}
