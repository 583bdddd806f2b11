//! Figures the metrics endpoint reads from the database at each scrape: the job queues' depth
//! and age, and uploads by status.

use std::time::Duration;

use sqlx::PgPool;

use crate::jobs::{Job, ParseUpload, Regenerate, SyncMirror};

/// One queue's jobs that are due and not started.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDepth {
    pub queue: String,
    pub queued: i64,
    /// Since the oldest became due; 0 when none is.
    pub oldest_age_secs: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub queues: Vec<QueueDepth>,
    pub uploads: Vec<(String, i64)>,
}

/// How long a scrape's queries may take.
const TIMEOUT: Duration = Duration::from_secs(2);

pub async fn snapshot(pool: &PgPool) -> Result<Snapshot, sqlx::Error> {
    let read = async {
        let queues: Vec<String> = [ParseUpload::QUEUE, Regenerate::QUEUE, SyncMirror::QUEUE]
            .map(str::to_owned)
            .to_vec();
        let depths = sqlx::query!(
            r#"select q as "queue!",
                      count(j.id) as "queued!",
                      coalesce(extract(epoch from now() - min(j.run_at))::float8, 0) as "oldest!"
               from unnest($1::text[]) as q
               left join apalis.jobs j
                 on j.job_type = q and j.status = 'Pending' and j.run_at <= now()
               group by q order by q"#,
            &queues
        )
        .fetch_all(pool)
        .await?;
        let uploads = sqlx::query!(
            r#"select status::text as "status!", count(*) as "count!"
               from uploads group by status order by status"#
        )
        .fetch_all(pool)
        .await?;
        Ok(Snapshot {
            queues: depths
                .into_iter()
                .map(|d| QueueDepth {
                    queue: d.queue,
                    queued: d.queued,
                    oldest_age_secs: d.oldest.max(0.0),
                })
                .collect(),
            uploads: uploads.into_iter().map(|u| (u.status, u.count)).collect(),
        })
    };
    tokio::time::timeout(TIMEOUT, read)
        .await
        .unwrap_or(Err(sqlx::Error::PoolTimedOut))
}
