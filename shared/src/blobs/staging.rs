//! Uploads streamed into an S3 blob store before their digest is known.
//!
//! An upload's bytes go to the store while it is received, as a multipart upload at a staging
//! key `incoming/<uuid>` under the store's prefix, at most [`PART`] × ([`PARTS_IN_FLIGHT`] + 1)
//! bytes in memory. Once the body is complete and hashed, [`super::claim`] copies the staged
//! object to the blob's key inside the object store (unless the blob is recorded already), and
//! the staged object is deleted. A body no larger than one part never starts a multipart
//! upload: it is kept in memory and stored with one request.
//!
//! Whatever ends an upload early cleans up, as the local backend's partial files do: an error
//! aborts the multipart upload before it is reported, and a dropped upload (the client went
//! away) aborts it, or deletes the staged object, from a spawned task. What a crash leaves is
//! collected elsewhere: staged objects by [`super::collect_stale_staging`], incomplete multipart
//! uploads by the bucket's lifecycle rule (docs/deploy.md).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as Key;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};
use tokio::task::JoinSet;

use super::store::{PART, PARTS_IN_FLIGHT};
use super::{BlobStore, Digest, StoreError};

/// Where staged uploads live, under the store's prefix.
const STAGING_DIR: &str = "incoming";

/// An upload being streamed into the store. Dropping it unfinished aborts the multipart upload.
pub struct StagingUpload {
    store: BlobStore,
    key: Key,
    /// The part being filled; before the first part is sent, the whole upload so far.
    part: Vec<u8>,
    /// Started once more than one part arrived.
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: JoinSet<Result<(), object_store::Error>>,
    parts: usize,
    /// The upload is being completed: an object may exist at `key` from now on.
    completing: bool,
    /// Finished or cleaned up: nothing left for `Drop` to do.
    settled: bool,
}

/// An upload completely in the store (or, if small, in memory), not yet a blob.
#[derive(Debug)]
pub enum Staged {
    /// A body of at most one part.
    Bytes(Bytes),
    /// A body in the object store at a staging key.
    Object(StagedObject),
}

/// A complete object at a staging key, deleted when dropped unless [`StagedObject::discard`]
/// did it before.
#[derive(Debug)]
pub struct StagedObject {
    store: BlobStore,
    key: Key,
    settled: bool,
}

impl BlobStore {
    /// Starts streaming an upload into the store (the S3 backend; the local backend receives
    /// uploads as files: `crate::storage::Storage::receive`).
    pub fn start_staging(&self) -> StagingUpload {
        StagingUpload {
            store: self.clone(),
            key: Key::from(format!("{STAGING_DIR}/{}", uuid::Uuid::new_v4())),
            part: Vec::new(),
            upload: None,
            in_flight: JoinSet::new(),
            parts: 0,
            completing: false,
            settled: false,
        }
    }

    /// Stores the staged object as the blob `digest`, by a copy inside the object store. The
    /// staged object stays (the caller discards it).
    pub(super) async fn put_staged(
        &self,
        digest: &Digest,
        staged: &StagedObject,
    ) -> Result<(), StoreError> {
        self.objects().copy(&staged.key, &Self::key(digest)).await?;
        tracing::debug!(blob = %digest, key = %staged.key, "stored a staged upload as a blob");
        Ok(())
    }

    /// Deletes the staged objects written more than `age` ago; how many.
    pub(super) async fn delete_staged_older_than(
        &self,
        age: Duration,
    ) -> Result<usize, StoreError> {
        if self.is_local() {
            return Ok(0);
        }
        let prefix = Key::from(STAGING_DIR);
        let mut listed = self.objects().list(Some(&prefix));
        let mut stale = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta?;
            if SystemTime::from(meta.last_modified)
                .elapsed()
                .is_ok_and(|elapsed| elapsed > age)
            {
                stale.push(meta.location);
            }
        }
        for key in &stale {
            match self.objects().delete(key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
            tracing::info!(key = %key, "deleted a stale staged upload");
        }
        Ok(stale.len())
    }
}

impl StagingUpload {
    /// Adds `data` to the upload, sending full parts as they fill, with at most
    /// [`PARTS_IN_FLIGHT`] in flight.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), StoreError> {
        while !data.is_empty() {
            // A full part is sent only once more data follows it: a body of exactly one part
            // is stored with one request.
            if self.part.len() == PART {
                self.send_part().await?;
            }
            let take = (PART - self.part.len()).min(data.len());
            self.part.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(())
    }

    async fn send_part(&mut self) -> Result<(), StoreError> {
        if self.upload.is_none() {
            self.upload = Some(self.store.objects().put_multipart(&self.key).await?);
        }
        let upload = self.upload.as_mut().expect("started above");
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            if let Some(done) = self.in_flight.join_next().await {
                done.map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
            }
        }
        let part = std::mem::replace(&mut self.part, Vec::with_capacity(PART));
        self.in_flight
            .spawn(upload.put_part(PutPayload::from(Bytes::from(part))));
        self.parts += 1;
        Ok(())
    }

    /// Completes the upload. On an error the caller calls [`StagingUpload::abort`].
    pub async fn finish(&mut self) -> Result<Staged, StoreError> {
        if self.upload.is_none() {
            self.settled = true;
            return Ok(Staged::Bytes(Bytes::from(std::mem::take(&mut self.part))));
        }
        if !self.part.is_empty() {
            self.send_part().await?;
        }
        while let Some(done) = self.in_flight.join_next().await {
            done.map_err(|e| StoreError::Io(std::io::Error::other(e)))??;
        }
        self.completing = true;
        let upload = self.upload.as_mut().expect("started above");
        upload.complete().await?;
        self.settled = true;
        tracing::debug!(key = %self.key, parts = self.parts, "staged an upload");
        Ok(Staged::Object(StagedObject {
            store: self.store.clone(),
            key: self.key.clone(),
            settled: false,
        }))
    }

    /// Aborts the multipart upload (if one was started), so that no part remains.
    pub async fn abort(&mut self) {
        self.settled = true;
        if let Some(upload) = self.upload.take() {
            let in_flight = std::mem::take(&mut self.in_flight);
            abort_upload(&self.store, &self.key, upload, in_flight, self.completing).await;
        }
    }
}

impl Drop for StagingUpload {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Some(upload) = self.upload.take() else {
            return;
        };
        let in_flight = std::mem::take(&mut self.in_flight);
        let (store, key, completing) = (self.store.clone(), self.key.clone(), self.completing);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                abort_upload(&store, &key, upload, in_flight, completing).await;
            });
        }
    }
}

/// Aborts a multipart upload once its parts in flight are done (a part still being written
/// by the service when the abort arrives could outlive it); when it was being completed,
/// deletes the object it may have become too.
async fn abort_upload(
    store: &BlobStore,
    key: &Key,
    mut upload: Box<dyn MultipartUpload>,
    mut in_flight: JoinSet<Result<(), object_store::Error>>,
    completing: bool,
) {
    while in_flight.join_next().await.is_some() {}
    if let Err(err) = upload.abort().await {
        // After a completion that went through, there is nothing to abort: not an error.
        if !completing {
            tracing::warn!(key = %key, error = %err, "aborting a staged upload failed");
        }
    }
    if completing {
        delete_staged(store, key).await;
    }
}

async fn delete_staged(store: &BlobStore, key: &Key) {
    match store.objects().delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(err) => {
            tracing::warn!(key = %key, error = %err, "deleting a staged upload failed");
        }
    }
}

impl StagedObject {
    /// Deletes the staged object (a failure is logged: the collector deletes it later).
    pub async fn discard(mut self) {
        self.settled = true;
        delete_staged(&self.store, &self.key).await;
    }
}

impl Drop for StagedObject {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (store, key) = (self.store.clone(), self.key.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { delete_staged(&store, &key).await });
        }
    }
}
