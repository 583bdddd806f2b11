//! What every handler can reach.

use std::sync::Arc;

use rieter::storage::Storage;
use sqlx::PgPool;

use crate::auth::Authenticator;
use rieter::settings::ApiConfig;

#[derive(Clone)]
pub struct AppState {
    /// For uploads, key checks, removals and admin operations.
    pub pool: PgPool,
    /// For the reads anyone may trigger, with a statement timeout (`rieter::db::connect_reads`):
    /// however they are hammered, `pool` stays free.
    pub reads: PgPool,
    pub storage: Storage,
    pub auth: Authenticator,
    pub config: Arc<ApiConfig>,
}
