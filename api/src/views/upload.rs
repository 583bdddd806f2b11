use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use rieter::actor::{Actor, ActorKind};
use rieter::db::uploads::{Upload, UploadStatus};
use uuid::Uuid;

/// Where an upload stands. `published` and `failed` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "UploadStatus", rename_all = "lowercase")]
pub enum UploadStatusView {
    /// Stored; waiting for a worker to parse it.
    Queued,
    /// A worker is parsing it.
    Processing,
    /// In the catalogue; waiting for the repository database that will list it.
    Parsed,
    /// Listed by a live repository database: pacman can install it.
    Published,
    /// Refused; `error` says why.
    Failed,
}

impl From<UploadStatus> for UploadStatusView {
    fn from(status: UploadStatus) -> Self {
        match status {
            UploadStatus::Queued => Self::Queued,
            UploadStatus::Processing => Self::Processing,
            UploadStatus::Parsed => Self::Parsed,
            UploadStatus::Published => Self::Published,
            UploadStatus::Failed => Self::Failed,
        }
    }
}

/// The package an upload turned out to be.
#[derive(Debug, Clone, Object)]
pub struct UploadedPackage {
    /// The package's id while it is the current version (null once replaced or removed).
    #[oai(nullable)]
    pub id: Option<i64>,
    pub name: String,
    /// Full version, `[epoch:]pkgver-pkgrel`.
    pub version: String,
    pub arch: String,
    pub distro: String,
    pub repo: String,
}

/// Which kind of key acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "ActorKind", rename_all = "lowercase")]
pub enum ActorKindView {
    /// A key made with `POST /api/v1/keys`.
    Key,
    /// The configured admin key (`api_key` / `RIETER_API_KEY`).
    Config,
}

/// The key that did something, as recorded at the time: its name and prefix stay after the key
/// is deleted (its `id` then becomes null).
#[derive(Debug, Clone, Object)]
#[oai(rename = "Actor")]
pub struct ActorView {
    pub kind: ActorKindView,
    /// The key's id; null for the configured admin key and once the key is deleted.
    #[oai(nullable)]
    pub id: Option<Uuid>,
    /// The key's name (`configured admin key` for the configured one).
    pub name: String,
    /// The first characters of the key's secret; null for the configured admin key.
    #[oai(nullable)]
    pub prefix: Option<String>,
}

impl From<Actor> for ActorView {
    fn from(actor: Actor) -> Self {
        Self {
            kind: match actor.kind() {
                ActorKind::Key => ActorKindView::Key,
                ActorKind::Config => ActorKindView::Config,
            },
            id: actor.key_id(),
            name: actor.name().to_owned(),
            prefix: actor.prefix().map(str::to_owned),
        }
    }
}

/// An upload and its progress.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Upload")]
pub struct UploadView {
    pub id: Uuid,
    pub status: UploadStatusView,
    /// Why the upload failed; null unless `status` is `failed`.
    #[oai(nullable)]
    pub error: Option<String>,
    pub distro: String,
    pub repo: String,
    /// Size of the uploaded file in bytes.
    pub size: i64,
    pub sha256: String,
    /// The parsed package; null until parsing succeeded.
    #[oai(nullable)]
    pub package: Option<UploadedPackage>,
    /// The key that uploaded it; null for uploads recorded before uploaders were.
    #[oai(nullable)]
    pub uploaded_by: Option<ActorView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Upload> for UploadView {
    fn from(u: Upload) -> Self {
        let package = match (u.package_name, u.package_version, u.package_arch) {
            (Some(name), Some(version), Some(arch)) if u.status != UploadStatus::Failed => {
                Some(UploadedPackage {
                    id: u.package_id,
                    name,
                    version,
                    arch,
                    distro: u.distro.to_string(),
                    repo: u.repo.to_string(),
                })
            }
            _ => None,
        };
        Self {
            id: u.id,
            status: u.status.into(),
            error: u.error,
            distro: u.distro.into(),
            repo: u.repo.into(),
            size: u.size,
            sha256: u.sha256.into_string(),
            package,
            uploaded_by: u.uploaded_by.map(Into::into),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

impl From<UploadStatusView> for UploadStatus {
    fn from(status: UploadStatusView) -> Self {
        match status {
            UploadStatusView::Queued => Self::Queued,
            UploadStatusView::Processing => Self::Processing,
            UploadStatusView::Parsed => Self::Parsed,
            UploadStatusView::Published => Self::Published,
            UploadStatusView::Failed => Self::Failed,
        }
    }
}

crate::pagination::page_of!(
    /// A page of uploads, newest first.
    UploadPage,
    UploadView
);

/// An upload that failed, as a problem document (`application/problem+json`): `detail` is the
/// upload's `error`, and the upload's other fields are alongside (`status` is the problem's,
/// 422; the upload's is `failed`).
#[derive(Debug, Clone, Object)]
#[oai(rename = "UploadFailure")]
pub struct UploadFailure {
    #[oai(rename = "type")]
    pub kind: String,
    pub title: String,
    /// 422.
    pub status: u16,
    /// Why the upload failed.
    pub detail: String,
    pub id: Uuid,
    pub error: String,
    pub distro: String,
    pub repo: String,
    pub size: i64,
    pub sha256: String,
    #[oai(nullable)]
    pub uploaded_by: Option<ActorView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<UploadView> for UploadFailure {
    fn from(u: UploadView) -> Self {
        let reason = u.error.unwrap_or_else(|| "the upload failed".to_owned());
        Self {
            kind: "about:blank".to_owned(),
            title: "Unprocessable Content".to_owned(),
            status: 422,
            detail: reason.clone(),
            id: u.id,
            error: reason,
            distro: u.distro,
            repo: u.repo,
            size: u.size,
            sha256: u.sha256,
            uploaded_by: u.uploaded_by,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}
