//! Waiting for an upload to become final (`?wait=SECONDS` on an upload): the api listens on
//! the channel the `uploads_final_notify` trigger notifies, on a connection of its own, and
//! wakes the requests waiting for that upload. Nothing polls while the listener is up; while
//! it is down (the database restarting), waiting requests look again every second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rieter::db::DbError;
use rieter::db::uploads::{self, Upload};
use sqlx::PgPool;
use tokio::sync::broadcast;
use tokio::time::Instant;
use uuid::Uuid;

use crate::listen::{self, Listening};

/// The channel of `uploads_final_notify`.
const CHANNEL: &str = "rieter_upload_final";
/// Sent to every waiter when notifications may have been missed: each looks again.
const LOOK_AGAIN: Uuid = Uuid::nil();
/// How often a waiter looks while the listener is down.
const DEGRADED_LOOK: Duration = Duration::from_secs(1);

pub struct UploadWaits {
    finals: broadcast::Sender<Uuid>,
    listening: AtomicBool,
}

impl UploadWaits {
    /// Starts listening on a connection of its own.
    pub fn start(pool: PgPool) -> Arc<Self> {
        let waits = Arc::new(Self {
            finals: broadcast::Sender::new(1024),
            listening: AtomicBool::new(false),
        });
        listen::spawn(pool, CHANNEL, Arc::downgrade(&waits));
        waits
    }

    /// The upload once it is final, or as it is when `wait` runs out (`None` if it is gone).
    pub async fn wait_final(
        &self,
        pool: &PgPool,
        id: Uuid,
        wait: Duration,
    ) -> Result<Option<Upload>, DbError> {
        let deadline = Instant::now() + wait;
        // Subscribed before looking, so a notification between the look and the wait is kept.
        let mut finals = self.finals.subscribe();
        loop {
            let upload = match uploads::find(pool, id).await? {
                Some(upload) if !upload.status.is_final() => upload,
                final_or_gone => return Ok(final_or_gone),
            };
            let until = if self.listening.load(Ordering::Acquire) {
                deadline
            } else {
                deadline.min(Instant::now() + DEGRADED_LOOK)
            };
            loop {
                match tokio::time::timeout_at(until, finals.recv()).await {
                    Ok(Ok(final_id)) if final_id != id && final_id != LOOK_AGAIN => continue,
                    // This upload, a reconnect, a lagging receiver: look again.
                    Ok(_) => break,
                    Err(_) if until >= deadline => return Ok(Some(upload)),
                    Err(_) => break,
                }
            }
        }
    }
}

impl Listening for UploadWaits {
    fn connected(&self) {
        self.listening.store(true, Ordering::Release);
        // What became final before the listener was up is unknown.
        let _ = self.finals.send(LOOK_AGAIN);
    }

    fn notified(&self, notification: sqlx::postgres::PgNotification) {
        if let Ok(id) = notification.payload().parse::<Uuid>() {
            // No receiver is no error: nobody is waiting.
            let _ = self.finals.send(id);
        }
    }

    fn lost(&self, error: Option<&sqlx::Error>) {
        self.listening.store(false, Ordering::Release);
        let _ = self.finals.send(LOOK_AGAIN);
        let error = error.map(ToString::to_string).unwrap_or_default();
        tracing::warn!(
            error,
            "lost the final-upload listener; waiting requests poll meanwhile"
        );
    }
}
