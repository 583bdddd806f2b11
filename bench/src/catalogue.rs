//! Filling a catalogue directly through the library, the way the parse job does (accept the
//! upload, parse, render its entries, record), without the HTTP and queue round trips: loading
//! 10,000 packages this way takes seconds instead of minutes.

use std::path::Path;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use md5::Md5;
use rieter::db::uploads::{self, NewUpload};
use rieter::ingest::{self, IngestConfig, IngestPackage, Outcome, Permissions};
use rieter::names::{ArchName, DistroName, RepoName};
use rieter::package::{self, Limits};
use rieter::repo_db::{self, DbEntry};
use rieter::storage::Storage;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

pub struct Catalogue {
    pub pool: PgPool,
    pub storage: Storage,
    pub distro: DistroName,
    pub repo: RepoName,
}

impl Catalogue {
    pub fn ingest_config() -> IngestConfig {
        IngestConfig {
            default_arch: ArchName::parse("x86_64").expect("valid arch"),
        }
    }

    /// Adds one package file, as an upload that went through the parse job.
    pub async fn add(&self, file: &Path) -> anyhow::Result<i64> {
        let id = Uuid::now_v7();
        let blob = self.storage.blob_path(id);
        let (size, sha256, md5, parsed, members) = {
            let (file, blob) = (file.to_owned(), blob.clone());
            tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                std::fs::copy(&file, &blob)?;
                let bytes = std::fs::read(&blob)?;
                let sha256 = hex::encode(Sha256::digest(&bytes));
                let md5 = hex::encode(Md5::digest(&bytes));
                let parsed = package::parse_file(&blob, &Limits::default())?;
                let filename = parsed.filename();
                let size = bytes.len() as i64;
                let entry = DbEntry::new(&parsed.info, &filename, size, &md5, &sha256);
                let members = repo_db::render_members(&entry, &parsed.files)?;
                Ok((size, sha256, md5, parsed, members))
            })
            .await??
        };
        let upload = NewUpload {
            id,
            distro: self.distro.clone(),
            repo: self.repo.clone(),
            size,
            sha256: sha256.clone(),
            md5: md5.clone(),
            allow_downgrade: false,
            overwrite: false,
            uploaded_by: rieter::actor::Actor::Config,
        };
        ingest::accept(&self.pool, &upload).await?;
        uploads::start_processing(&self.pool, id).await?;
        let outcome = ingest::record(
            &self.pool,
            &IngestPackage {
                upload_id: id,
                distro: &self.distro,
                repo: &self.repo,
                parsed: &parsed,
                size,
                sha256: &sha256,
                md5: &md5,
                permissions: Permissions {
                    allow_downgrade: false,
                    overwrite: false,
                },
                db_member: &members.db,
                files_member: &members.files,
            },
            &Self::ingest_config(),
        )
        .await?;
        match outcome {
            Outcome::Added { package_id, .. } | Outcome::Unchanged { package_id } => Ok(package_id),
            other => anyhow::bail!("{} was not added: {other:?}", file.display()),
        }
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
