//! Database access, one module per aggregate. Queries are checked at compile time against the
//! migrated schema (`.sqlx/` holds the offline data for builds without a database).

pub mod blobs;
pub mod build_logs;
pub mod builds;
pub mod catalogue;
pub mod events;
pub mod keys;
pub mod listing;
pub mod locks;
pub mod maintenance;
pub mod manifest;
pub mod mirrors;
pub mod observe;
pub mod packages;
pub mod regen;
pub mod removals;
pub mod sessions;
pub mod signing;
pub mod targets;
pub mod uploads;

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};

/// Rieter's own migrations. They are tracked in `public._sqlx_migrations`; apalis-postgres
/// tracks its migrations in `apalis._sqlx_migrations`, so the two histories never collide.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// A database operation that may also have queued a job failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Enqueue(#[from] crate::jobs::EnqueueError),
}

impl DbError {
    /// The database error underneath, if the failure came from the database.
    pub fn as_sql(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Sql(e) => Some(e),
            Self::Enqueue(crate::jobs::EnqueueError::Queue(apalis_postgres::Error::Database(
                e,
            ))) => Some(e),
            Self::Enqueue(_) => None,
        }
    }

    /// Whether the database could not be reached (as opposed to a query failing).
    pub fn is_unavailable(&self) -> bool {
        self.as_sql().is_some_and(is_unavailable)
    }
}

/// Whether a database error means "cannot reach the database now" rather than "this query
/// failed": worth retrying later, and a 503 rather than a 500 for a client.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => true,
        // Class 57P: operator intervention (shutdown); class 08: connection exceptions;
        // 53300: too many connections.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08") || c == "53300"),
        _ => false,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrating the job queue schema: {0}")]
    Queue(#[from] apalis_postgres::Error),
    #[error("migrating the catalogue schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "the database schema is out of date ({pending} migration(s) pending, first: {first}); \
         start with auto_migrate enabled (RIETER_AUTO_MIGRATE=true) to apply them"
    )]
    Pending { pending: usize, first: String },
    #[error(
        "the database has migration {version} that this build does not know; \
         it was migrated by a newer Rieter"
    )]
    Unknown { version: i64 },
}

pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        // Short: while the database is away, callers should learn it quickly (the api answers
        // 503, jobs back off) rather than queue up behind a dead pool.
        .acquire_timeout(Duration::from_secs(3))
        .connect(url)
        .await
}

/// A pool for the reads anyone may trigger (listings, details, file lists), kept apart from
/// the pool that uploads, key checks and removals use: however many anonymous requests queue
/// for it, they hold at most `max_connections` connections, and every statement on them is
/// cancelled after `statement_timeout`.
///
/// Its sessions also plan every statement for its actual parameters (`plan_cache_mode`): the
/// listing queries are written once with optional filters (`$1 is null or ...`), which a
/// cached generic plan cannot serve from an index (the `q` search's trigram indexes least of
/// all), while a plan made for the values folds the unused filters away. Planning these
/// queries costs well under a millisecond.
pub async fn connect_reads(
    url: &str,
    max_connections: u32,
    statement_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    let setup = format!(
        "set statement_timeout = {}; set plan_cache_mode = force_custom_plan",
        statement_timeout.as_millis().max(1)
    );
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(3))
        .after_connect(move |conn, _| {
            let setup = setup.clone();
            Box::pin(async move {
                // `setup` holds only a number we formatted.
                sqlx::raw_sql(AssertSqlSafe(setup)).execute(conn).await?;
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// Whether a statement was cancelled because it ran past its `statement_timeout` (SQLSTATE
/// 57014, `query_canceled`).
pub fn is_statement_timeout(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("57014"))
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("connecting to the database (RIETER_DATABASE_URL): {0}")]
    Connect(#[source] sqlx::Error),
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

/// Connects, then brings the schema up to date (`auto_migrate`) or insists it already is:
/// how both binaries start.
pub async fn open(
    url: &str,
    max_connections: u32,
    auto_migrate: bool,
) -> Result<PgPool, OpenError> {
    let pool = connect(url, max_connections)
        .await
        .map_err(OpenError::Connect)?;
    if auto_migrate {
        migrate(&pool).await?;
    } else {
        check_schema(&pool).await?;
    }
    Ok(pool)
}

/// Whether the database answers within `within`. A pool whose every connection is in use is
/// busy, not cut off (those connections are talking to the database), and is not probed: under
/// a burst of uploads the probe would otherwise queue behind them and report a busy database as
/// unreachable. When the database goes away its connections break, the pool empties, and the
/// probe fails fast again.
pub async fn is_reachable(pool: &PgPool, within: Duration) -> bool {
    if pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections() {
        return true;
    }
    let probe = sqlx::query("select 1").execute(pool);
    matches!(tokio::time::timeout(within, probe).await, Ok(Ok(_)))
}

/// Brings both schemas (the job queue's and ours) up to date. Safe to run from several
/// processes at once: each migrator holds an advisory lock while it works.
pub async fn migrate(pool: &PgPool) -> Result<(), SchemaError> {
    apalis_postgres::PostgresStorage::setup(pool).await?;
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Refuses to go on unless every migration of this build, ours and the job queue's, has been
/// applied, and no migration unknown to this build has.
pub async fn check_schema(pool: &PgPool) -> Result<(), SchemaError> {
    let queue = apalis_postgres::PostgresStorage::migrations();
    check_migrator(pool, &queue, "apalis._sqlx_migrations").await?;
    check_migrator(pool, &MIGRATOR, "public._sqlx_migrations").await
}

async fn check_migrator(
    pool: &PgPool,
    migrator: &Migrator,
    table: &str,
) -> Result<(), SchemaError> {
    let exists: bool = sqlx::query_scalar("select to_regclass($1) is not null")
        .bind(table)
        .fetch_one(pool)
        .await?;
    let applied: Vec<i64> = if exists {
        // `table` is one of the two constants above, never input.
        sqlx::query_scalar(AssertSqlSafe(format!(
            "select version from {table} where success order by version"
        )))
        .fetch_all(pool)
        .await?
    } else {
        Vec::new()
    };
    if let Some(unknown) = applied
        .iter()
        .find(|v| !migrator.iter().any(|m| m.version == **v))
    {
        return Err(SchemaError::Unknown { version: *unknown });
    }
    let pending: Vec<_> = migrator
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect();
    match pending.first() {
        Some(first) => Err(SchemaError::Pending {
            pending: pending.len(),
            first: format!("{} {}", first.version, first.description),
        }),
        None => Ok(()),
    }
}

/// Maps a unique or foreign key violation to the constraint's name, so callers can turn known
/// constraints into client errors.
pub fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}
