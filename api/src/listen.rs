//! Listening on a Postgres notification channel for as long as the process lives, on a
//! connection of its own, reconnecting after a loss. What the listener is for decides what a
//! notification, a (re)connection and a loss mean: notifications may have been missed while it
//! was not listening.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgNotification};

/// What a listener does with its channel's events.
pub trait Listening: Send + Sync + 'static {
    /// Listening (again): whatever happened while not listening is unknown.
    fn connected(&self);
    fn notified(&self, notification: PgNotification);
    /// The connection was lost: notifications will be missed until it is back.
    fn lost(&self, error: Option<&sqlx::Error>);
}

/// Listens on `channel` and tells `target` what happens, until `target` is dropped.
pub fn spawn<T: Listening>(pool: PgPool, channel: &'static str, target: std::sync::Weak<T>) {
    tokio::spawn(async move {
        loop {
            match connect(&pool, channel).await {
                Ok(mut listener) => {
                    let Some(state) = target.upgrade() else {
                        return;
                    };
                    state.connected();
                    drop(state);
                    loop {
                        let received = listener.try_recv().await;
                        let Some(state) = target.upgrade() else {
                            return;
                        };
                        match received {
                            Ok(Some(notification)) => state.notified(notification),
                            Ok(None) => {
                                state.lost(None);
                                break;
                            }
                            Err(err) => {
                                state.lost(Some(&err));
                                break;
                            }
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(channel, error = %err, "could not listen; trying again");
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn connect(pool: &PgPool, channel: &str) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    Ok(listener)
}
