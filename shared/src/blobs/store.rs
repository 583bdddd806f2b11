//! Where blobs live: a directory on the local file system (the default) or a bucket of an
//! S3-compatible service, behind the `object_store` crate.
//!
//! A blob is stored under `sha256/<first two hex digits>/<digest>`, written once and never
//! changed: its name is its content. On the local backend the file is written by the same
//! steps as always (a complete, synced file linked or renamed into place), so a reader never
//! sees half a blob, and the api opens blob files directly to serve them.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use super::Digest;
use crate::settings::Secret;

/// The setting `storage` (`RIETER_STORAGE`), parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Blobs are files under this directory.
    Local(PathBuf),
    /// Blobs are objects of this bucket, under `prefix` (empty, or ending with `/`). Endpoint,
    /// region and credentials come from the `s3_*` settings ([`S3Options`]) and, for what
    /// those leave unset, from the standard `AWS_*` variables.
    S3 { bucket: String, prefix: String },
}

/// How to reach an S3-compatible object store: the `s3_*` settings. Each one set overrides the
/// standard variable `AmazonS3Builder::from_env` reads (named in parentheses); unset ones
/// leave that variable in charge.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// The service's URL, e.g. `https://s3.example.com` (`AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// The region, e.g. `us-east-1` (`AWS_REGION`).
    pub region: Option<String>,
    /// (`AWS_ACCESS_KEY_ID`)
    pub access_key_id: Option<String>,
    /// (`AWS_SECRET_ACCESS_KEY`)
    pub secret_access_key: Option<Secret<String>>,
    /// Allow an `http://` endpoint (`AWS_ALLOW_HTTP`).
    pub allow_http: Option<bool>,
    /// Address the bucket as `https://BUCKET.endpoint` rather than `https://endpoint/BUCKET`
    /// (`AWS_VIRTUAL_HOSTED_STYLE_REQUEST`).
    pub virtual_hosted_style: Option<bool>,
}

impl S3Options {
    /// The builder `from_env` fills, with the settings that are set on top.
    fn builder(&self) -> object_store::aws::AmazonS3Builder {
        let mut builder = object_store::aws::AmazonS3Builder::from_env();
        if let Some(endpoint) = &self.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &self.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = &self.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &self.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose());
        }
        if let Some(allow) = self.allow_http {
            builder = builder.with_allow_http(allow);
        }
        if let Some(virtual_hosted) = self.virtual_hosted_style {
            builder = builder.with_virtual_hosted_style_request(virtual_hosted);
        }
        builder
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "storage `{0}` is not understood: use file:///absolute/path for a local directory or \
     s3://bucket/optional/prefix for an S3-compatible object store"
)]
pub struct LocationError(pub String);

impl Location {
    /// `storage` unset means the directory `blobs` of the data directory.
    pub fn parse(setting: Option<&str>, data_dir: &Path) -> Result<Self, LocationError> {
        let Some(setting) = setting.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Self::Local(data_dir.join("blobs")));
        };
        let error = || LocationError(setting.to_owned());
        if let Some(path) = setting.strip_prefix("file://") {
            let path = Path::new(path);
            if !path.is_absolute() || path.components().any(|c| c.as_os_str() == "..") {
                return Err(error());
            }
            return Ok(Self::Local(path.to_owned()));
        }
        if let Some(rest) = setting.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let prefix = prefix.trim_matches('/');
            let bucket_ok = !bucket.is_empty()
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            let prefix_ok = prefix
                .split('/')
                .all(|s| s.is_empty() || (s != "." && s != ".."))
                && !prefix.contains("//");
            if !bucket_ok || !prefix_ok {
                return Err(error());
            }
            let prefix = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            };
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix,
            });
        }
        Err(error())
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(path) => write!(f, "file://{}", path.display()),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("blob file: {0}")]
    Io(#[from] io::Error),
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Store(object_store::Error::NotFound { .. }) => true,
            Self::Io(err) => err.kind() == io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// Faults that go away by themselves: a full disk, an object store that cannot be reached
    /// or answers with an error of its own (object_store has retried it already).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Io(_) => self.is_storage_full(),
            Self::Store(err) => matches!(err, object_store::Error::Generic { .. }),
        }
    }

    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::Io(err)
            if matches!(err.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded))
    }
}

/// Objects up to this size are stored with one request; larger ones in parts of this size.
pub(super) const PART: usize = 8 << 20;
/// Parts of one blob in flight to the object store at once.
pub(super) const PARTS_IN_FLIGHT: usize = 4;

/// The blob store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// On S3: the bucket itself, to presign URLs with, and the prefix of every key.
    signer: Option<(Arc<object_store::aws::AmazonS3>, String)>,
    /// The directory of the local backend, whose files are read and written directly.
    local: Option<PathBuf>,
    location: Arc<Location>,
}

impl BlobStore {
    /// Opens the store; for the local backend, creates its directory. `s3` is used only by
    /// the S3 backend.
    pub fn open(location: &Location, s3: &S3Options) -> Result<Self, StoreError> {
        let mut signer = None;
        let (store, local): (Arc<dyn ObjectStore>, _) = match location {
            Location::Local(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    io::Error::new(e.kind(), format!("creating {}: {e}", dir.display()))
                })?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
                (Arc::new(store), Some(dir.clone()))
            }
            Location::S3 { bucket, prefix } => {
                // TLS to the object store goes through rustls with ring, the provider sqlx
                // uses too (one already installed stays).
                let _ = rustls::crypto::ring::default_provider().install_default();
                let s3 = Arc::new(s3.builder().with_bucket_name(bucket).build()?);
                signer = Some((Arc::clone(&s3), prefix.clone()));
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    s3
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(
                        s3,
                        prefix.trim_end_matches('/'),
                    ))
                };
                (store, None)
            }
        };
        Ok(Self {
            store,
            signer,
            local,
            location: Arc::new(location.clone()),
        })
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// The object store itself (keys relative to the prefix).
    pub(super) fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(super) fn key(digest: &Digest) -> Key {
        let d = digest.as_str();
        Key::from(format!("sha256/{}/{d}", &d[..2]))
    }

    /// The blob's file, on the local backend (it may not exist).
    pub fn local_path(&self, digest: &Digest) -> Option<PathBuf> {
        let d = digest.as_str();
        self.local
            .as_ref()
            .map(|root| root.join("sha256").join(&d[..2]).join(d))
    }

    /// Stores the complete, synced file `file` as the blob `digest` (which the caller computed
    /// from it). The file itself stays where it is. On the local backend the blob is a hard
    /// link to it when both are on one file system, else a synced copy renamed into place; a
    /// blob already there is left as it is (same name, same content).
    pub async fn put_file(&self, digest: &Digest, file: &Path) -> Result<(), StoreError> {
        if let Some(target) = self.local_path(digest) {
            let file = file.to_owned();
            return tokio::task::spawn_blocking(move || link_or_copy(&file, &target))
                .await
                .map_err(io::Error::other)?
                .map_err(StoreError::Io);
        }
        let key = Self::key(digest);
        let mut source = tokio::fs::File::open(file).await?;
        let len = source.metadata().await?.len();
        if len <= PART as u64 {
            let mut bytes = Vec::with_capacity(len as usize);
            tokio::io::AsyncReadExt::read_to_end(&mut source, &mut bytes).await?;
            self.store.put(&key, PutPayload::from(bytes)).await?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut source, &mut buffer).await?;
            if n == 0 {
                break;
            }
            if let Err(err) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                writer.abort().await.ok();
                return Err(err.into());
            }
            writer.write(&buffer[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// Stores `bytes` as the blob `digest`.
    pub async fn put_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<(), StoreError> {
        if let Some(target) = self.local_path(digest) {
            return tokio::task::spawn_blocking(move || write_new(&target, &bytes))
                .await
                .map_err(io::Error::other)?
                .map_err(StoreError::Io);
        }
        self.store
            .put(&Self::key(digest), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// A URL that lets whoever holds it `GET` the blob directly from S3 for `expires_in`
    /// (`None` on the local backend).
    pub async fn presigned_url(
        &self,
        digest: &Digest,
        expires_in: std::time::Duration,
    ) -> Result<Option<String>, StoreError> {
        use object_store::signer::{Method, Signer};
        let Some((s3, prefix)) = &self.signer else {
            return Ok(None);
        };
        let key = Key::from(format!("{prefix}{}", Self::key(digest)));
        let url = s3.signed_url(Method::GET, &key, expires_in).await?;
        Ok(Some(url.to_string()))
    }

    /// Whether the blob is in the store.
    pub async fn exists(&self, digest: &Digest) -> Result<bool, StoreError> {
        if let Some(path) = self.local_path(digest) {
            return match tokio::fs::metadata(&path).await {
                Ok(_) => Ok(true),
                Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
                Err(err) => Err(err.into()),
            };
        }
        match self.store.head(&Self::key(digest)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes a blob; one already gone is not an error.
    pub async fn delete(&self, digest: &Digest) -> Result<(), StoreError> {
        if let Some(path) = self.local_path(digest) {
            return match tokio::fs::remove_file(&path).await {
                Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err.into()),
                _ => Ok(()),
            };
        }
        match self.store.delete(&Self::key(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// The bytes of a blob (or of `range` of it), as a stream.
    pub async fn read(
        &self,
        digest: &Digest,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, io::Result<Bytes>>, StoreError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&Self::key(digest), options).await?;
        Ok(result
            .into_stream()
            .map(|r| r.map_err(io::Error::other))
            .boxed())
    }

    /// Every blob in the store with when it was written, for the collector of objects that no
    /// `blobs` row records (left by a transaction that stored a blob and then failed). On the
    /// local backend, temporary files older than `debris_age` left by a crash are removed.
    pub async fn list(
        &self,
        debris_age: std::time::Duration,
    ) -> Result<Vec<(Digest, SystemTime)>, StoreError> {
        if let Some(root) = &self.local {
            let root = root.join("sha256");
            return tokio::task::spawn_blocking(move || list_local(&root, debris_age))
                .await
                .map_err(io::Error::other)?
                .map_err(StoreError::Io);
        }
        let mut listed = self.store.list(Some(&Key::from("sha256")));
        let mut found = Vec::new();
        while let Some(meta) = listed.next().await {
            let meta = meta?;
            if let Some(Ok(digest)) = meta.location.filename().map(Digest::parse) {
                found.push((digest, SystemTime::from(meta.last_modified)));
            }
        }
        Ok(found)
    }

    /// Copies a blob to the local file `dest` (created), for code that needs a file to read.
    /// The copy is a scratch file, read once and removed: it is not synced, since nothing is
    /// lost with it (a sync per parsed upload cost more than the parse on S3).
    pub async fn download(&self, digest: &Digest, dest: &Path) -> Result<(), StoreError> {
        use tokio::io::AsyncWriteExt;
        let mut stream = self.read(digest, None).await?;
        let mut out = tokio::fs::File::create(dest).await?;
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk?).await?;
        }
        out.flush().await?;
        Ok(())
    }
}

fn list_local(
    root: &Path,
    debris_age: std::time::Duration,
) -> io::Result<Vec<(Digest, SystemTime)>> {
    let mut found = Vec::new();
    let fanouts = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(found),
        Err(err) => return Err(err),
    };
    for fanout in fanouts {
        for entry in std::fs::read_dir(fanout?.path())? {
            let entry = entry?;
            let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Ok(digest) = Digest::parse(&name) {
                found.push((digest, modified));
            } else if name.starts_with('.') && modified.elapsed().is_ok_and(|age| age > debris_age)
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(found)
}

/// Makes `target` the content of `file`: a hard link when possible, else a copy.
fn link_or_copy(file: &Path, target: &Path) -> io::Result<()> {
    let dir = target.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(dir)?;
    match std::fs::hard_link(file, target) {
        Ok(()) => return std::fs::File::open(dir)?.sync_all(),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        // Another file system (EXDEV) or one without hard links: copy.
        Err(_) => {}
    }
    let temp = dir.join(format!(".{}.part", uuid::Uuid::new_v4()));
    let result = (|| {
        std::fs::copy(file, &temp)?;
        std::fs::File::open(&temp)?.sync_all()?;
        std::fs::rename(&temp, target)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Writes `bytes` to `target` through a synced temporary file, unless it exists.
fn write_new(target: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    if target.exists() {
        return Ok(());
    }
    let dir = target.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{}.part", uuid::Uuid::new_v4()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, target)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_settings() {
        let data = Path::new("/var/lib/rieter");
        assert_eq!(
            Location::parse(None, data).unwrap(),
            Location::Local(data.join("blobs"))
        );
        assert_eq!(
            Location::parse(Some("file:///srv/blobs"), data).unwrap(),
            Location::Local("/srv/blobs".into())
        );
        assert_eq!(
            Location::parse(Some("s3://packages/rieter/prod/"), data).unwrap(),
            Location::S3 {
                bucket: "packages".into(),
                prefix: "rieter/prod/".into()
            }
        );
        assert_eq!(
            Location::parse(Some("s3://packages"), data).unwrap(),
            Location::S3 {
                bucket: "packages".into(),
                prefix: String::new()
            }
        );
        for bad in [
            "file://relative",
            "file:///srv/../etc",
            "s3://",
            "s3://b/../x",
            "s3://b/a//c",
            "gs://bucket",
            "/srv/blobs",
        ] {
            assert!(Location::parse(Some(bad), data).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn local_blobs_are_linked_read_and_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(
            &Location::Local(dir.path().join("blobs")),
            &S3Options::default(),
        )
        .unwrap();
        let source = dir.path().join("upload");
        std::fs::write(&source, b"package bytes").unwrap();
        let digest = Digest::of(b"package bytes");
        assert!(!store.exists(&digest).await.unwrap());
        store.put_file(&digest, &source).await.unwrap();
        // Storing it again is a no-op.
        store.put_file(&digest, &source).await.unwrap();
        let path = store.local_path(&digest).unwrap();
        assert!(path.ends_with(format!("sha256/{}/{digest}", &digest.as_str()[..2])));
        assert_eq!(std::fs::read(&path).unwrap(), b"package bytes");
        std::fs::remove_file(&source).unwrap();
        assert!(store.exists(&digest).await.unwrap());
        let mut read = Vec::new();
        let mut stream = store.read(&digest, Some(8..13)).await.unwrap();
        while let Some(chunk) = stream.next().await {
            read.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(read, b"bytes");
        let other = Digest::of(b"db");
        store
            .put_bytes(&other, Bytes::from_static(b"db"))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read(store.local_path(&other).unwrap()).unwrap(),
            b"db"
        );
        store.delete(&digest).await.unwrap();
        store.delete(&digest).await.unwrap();
        assert!(!store.exists(&digest).await.unwrap());
    }
}
