//! Pieces of hand-built API documents (for routes written once for many services, whose
//! handlers are generic and so cannot carry `utoipa` annotations): a secured operation with its
//! parameters, and a response carrying a named schema.

use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Ref, Response, ResponseBuilder};

/// An operation tagged `tag` that needs a bearer token, with `parameters` (name, place).
pub fn secured(tag: &str, summary: String, parameters: &[(&str, ParameterIn)]) -> OperationBuilder {
    let mut operation = OperationBuilder::new()
        .tag(tag)
        .summary(Some(summary))
        .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
    for (name, place) in parameters {
        let parameter = ParameterBuilder::new()
            .name(*name)
            .parameter_in(place.clone());
        operation = operation.parameter(parameter);
    }
    operation
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
