//! The committed `openapi.yaml` is the document the server serves.

#[test]
fn committed_openapi_yaml_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml");
    let spec = rieter_api::openapi_service().spec_yaml();
    if std::env::var_os("RIETER_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &spec).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == spec,
        "openapi.yaml is out of date; regenerate it with \
         `cargo run -q -p rieter-api -- openapi > openapi.yaml` (or RIETER_UPDATE_OPENAPI=1 cargo test)"
    );
}
