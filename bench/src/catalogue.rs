//! Filling a catalogue directly through the library, the way the api and the parse job do
//! (receive and accept the upload, parse, render its entries, record), without the HTTP and
//! queue round trips: loading 10,000 packages this way takes seconds instead of minutes.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use rieter::blobs::BlobStore;
use rieter::db::manifest;
use rieter::db::uploads::{self, NewUpload};
use rieter::ingest::{
    self, BlobFacts, IngestConfig, IngestPackage, Outcome, ParsedBlob, Permissions, SignaturePolicy,
};
use rieter::names::{ArchName, DistroName, FileName, RepoName};
use rieter::package::Limits;
use rieter::storage::Storage;
use sqlx::PgPool;
use uuid::Uuid;

pub struct Catalogue {
    pub pool: PgPool,
    /// Scratch space for uploads being received.
    pub storage: Storage,
    pub blobs: BlobStore,
    pub distro: DistroName,
    pub repo: RepoName,
}

impl Catalogue {
    pub fn ingest_config() -> IngestConfig {
        IngestConfig {
            default_arch: ArchName::parse("x86_64").expect("valid arch"),
        }
    }

    /// Adds one package file, as an upload that went through the api and the parse job.
    pub async fn add(&self, file: &Path) -> anyhow::Result<i64> {
        let bytes = Bytes::from(tokio::fs::read(file).await?);
        let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes)]);
        let received = self
            .storage
            .receive(body, u64::MAX, Duration::from_secs(60))
            .await?;
        let id = Uuid::now_v7();
        let upload = NewUpload {
            id,
            distro: self.distro.clone(),
            repo: self.repo.clone(),
            size: received.size as i64,
            sha256: received.sha256.clone(),
            md5: received.md5.clone(),
            allow_downgrade: false,
            overwrite: false,
            uploaded_by: rieter::actor::Actor::Config,
            signature: None,
            build_id: None,
        };
        ingest::accept(&self.pool, &self.blobs, received.into(), &upload).await?;
        uploads::start_processing(&self.pool, id).await?;
        let blob = self
            .blobs
            .local_path(&upload.sha256)
            .context("the benchmarks use the local blob store")?;
        let ParsedBlob {
            parsed, members, ..
        } = {
            let upload = upload.clone();
            tokio::task::spawn_blocking(move || {
                let facts = BlobFacts {
                    size: upload.size,
                    sha256: &upload.sha256,
                    md5: &upload.md5,
                };
                let unsigned = SignaturePolicy::default();
                ingest::parse_blob(&blob, &Limits::default(), facts, &unsigned, None)
            })
            .await??
        };
        let outcome = ingest::record(
            &self.pool,
            &self.blobs,
            &IngestPackage {
                upload_id: id,
                distro: &self.distro,
                repo: &self.repo,
                parsed: &parsed,
                size: upload.size,
                sha256: &upload.sha256,
                md5: &upload.md5,
                permissions: Permissions {
                    allow_downgrade: false,
                    overwrite: false,
                },
                db_member: &members.db,
                files_member: &members.files,
                signature: None,
            },
            &Self::ingest_config(),
        )
        .await?;
        match outcome {
            Outcome::Added { package_id, .. } | Outcome::Unchanged { package_id } => Ok(package_id),
            other => anyhow::bail!("{} was not added: {other:?}", file.display()),
        }
    }

    /// The local file of a published file of the catalogue's repository.
    pub async fn published(&self, arch: &str, name: &str) -> anyhow::Result<std::path::PathBuf> {
        let file = manifest::find(
            &self.pool,
            &self.distro,
            &self.repo,
            &ArchName::parse(arch)?,
            &FileName::parse(name)?,
        )
        .await?
        .with_context(|| format!("{name} is not published"))?;
        self.blobs
            .local_path(&file.digest)
            .context("the benchmarks use the local blob store")
    }

    /// Adds many package files, a few at a time.
    pub async fn add_all(&self, files: &[std::path::PathBuf]) -> anyhow::Result<()> {
        futures::stream::iter(files)
            .map(|f| async move { self.add(f).await.with_context(|| f.display().to_string()) })
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }
}
