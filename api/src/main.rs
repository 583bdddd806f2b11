use anyhow::Context;
use rieter_api::config::ApiConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `rieter-api openapi` prints the OpenAPI document (what openapi.yaml must hold).
    if std::env::args().nth(1).as_deref() == Some("openapi") {
        print!("{}", rieter_api::openapi_service().spec_yaml());
        return Ok(());
    }
    let config = ApiConfig::load().context("loading the configuration")?;
    rieter::telemetry::init(config.log_format);
    tracing::info!(?config, "starting rieter-api");
    let state = rieter_api::build_state(config).await?;
    rieter_api::serve(state, rieter::shutdown::signal()).await
}
