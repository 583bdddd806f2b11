//! Generates the API client from the committed `openapi.yaml`, so the document stays the one
//! source of the client: an operation or field the server changes changes the client with it.

use std::path::Path;

use openapiv3::{OpenAPI, ReferenceOr};

const SPEC: &str = "../openapi.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    let text = std::fs::read_to_string(SPEC).expect("reading openapi.yaml");
    let mut spec: OpenAPI = serde_yaml::from_str(&text).expect("parsing openapi.yaml");
    raw_bodies_only(&mut spec);
    without_agent_operations(&mut spec);
    let tokens = progenitor::Generator::default()
        .generate_tokens(&spec)
        .unwrap_or_else(|e| panic!("generating the client from openapi.yaml: {e}"));
    let file = syn::parse2(tokens).expect("the generated client parses");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("client.rs");
    std::fs::write(out, prettyplease::unparse(&file)).expect("writing the client");
}

/// progenitor takes one media type per request body. Uploads also accept a multipart form
/// (the package with its signature); the client keeps the raw body, and `rieter publish
/// --sig` builds that form itself.
fn raw_bodies_only(spec: &mut OpenAPI) {
    for item in spec.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
        ];
        for operation in operations.into_iter().flatten() {
            if let Some(ReferenceOr::Item(body)) = operation.request_body.as_mut()
                && body.content.len() > 1
            {
                body.content
                    .retain(|media, _| media == "application/octet-stream");
            }
        }
    }
}

/// The lease protocol's operations are the build agent's, not the CLI's, and progenitor cannot
/// express a claim's two successes (`200` with a build, `204` with none).
fn without_agent_operations(spec: &mut OpenAPI) {
    spec.paths
        .paths
        .retain(|path, _| !path.starts_with("/api/v1/agent/"));
}
