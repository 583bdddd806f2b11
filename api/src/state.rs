//! What every handler can reach.

use std::sync::Arc;

use rieter::storage::Storage;
use sqlx::PgPool;

use crate::auth::Authenticator;
use crate::config::ApiConfig;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub storage: Storage,
    pub auth: Authenticator,
    pub config: Arc<ApiConfig>,
}
