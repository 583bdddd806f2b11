//! A fresh Postgres database per test, dropped when the test ends.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection, PgPool};

/// The server tests create their databases on: `$RIETER_TEST_DATABASE_URL`, else the local
/// cluster as user `postgres`.
pub fn admin_url() -> String {
    std::env::var("RIETER_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database created for one test. Dropping it drops the database (and any connections left).
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    /// A database on the shared local server.
    pub async fn create() -> anyhow::Result<Self> {
        Self::create_on(&admin_url()).await
    }

    /// A database on the server `admin_url` connects to (e.g. a `PrivatePostgres`).
    pub async fn create_on(admin_url: &str) -> anyhow::Result<Self> {
        let admin: PgConnectOptions = admin_url.parse()?;
        let name = format!("rieter_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin.connect().await?;
        // The name is generated above from a UUID, never from input.
        sqlx::query(AssertSqlSafe(format!("create database {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = admin.database(&name).to_url_lossy().to_string();
        Ok(Self {
            name,
            url,
            admin_url: admin_url.to_owned(),
        })
    }

    /// A connection URL for this database, to hand to the binaries under test.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub async fn pool(&self) -> anyhow::Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(5)
            .connect(&self.url)
            .await?)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::env::var_os("RIETER_KEEP_TEST_DATABASES").is_some() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        let name = self.name.clone();
        let admin_url = self.admin_url.clone();
        // Drop may run inside a runtime; do the blocking work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let mut conn = PgConnection::connect(&admin_url).await?;
                sqlx::query(AssertSqlSafe(format!(
                    "drop database if exists {name} with (force)"
                )))
                .execute(&mut conn)
                .await?;
                conn.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
    }
}
