use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use rieter::db::keys::ApiKey;
use rieter::keys::{Permission, Scope, ScopeError};
use uuid::Uuid;

use crate::pagination::page_of;

/// What a scope lets a key do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename = "Permission", rename_all = "lowercase")]
pub enum PermissionView {
    /// Everything: uploads, removals, keys, private distributions. Takes no distribution.
    Admin,
    /// Upload packages to the distribution (or only the repository) named.
    Publish,
    /// Remove from the distribution (or only the repository) named; a distribution scope may
    /// also remove the distribution itself.
    Remove,
    /// Read (download from, list) the private distribution (or only the repository) named,
    /// and nothing else: pacman's key.
    Read,
    /// Read the metrics (`GET /metrics`), and nothing else: Prometheus's key. Takes no
    /// distribution.
    Metrics,
    /// Manage the build targets publishing to the distribution (or only the repository)
    /// named, and their builds.
    Build,
    /// Claim, extend and finish builds, and nothing else: a build agent's key. Takes no
    /// distribution.
    Agent,
}

impl From<Permission> for PermissionView {
    fn from(p: Permission) -> Self {
        match p {
            Permission::Admin => Self::Admin,
            Permission::Publish => Self::Publish,
            Permission::Remove => Self::Remove,
            Permission::Read => Self::Read,
            Permission::Metrics => Self::Metrics,
            Permission::Build => Self::Build,
            Permission::Agent => Self::Agent,
        }
    }
}

impl PermissionView {
    fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Publish => "publish",
            Self::Remove => "remove",
            Self::Read => "read",
            Self::Metrics => "metrics",
            Self::Build => "build",
            Self::Agent => "agent",
        }
    }
}

/// One thing a key may do. A `publish` or `remove` scope also lets the key read its whole
/// distribution when it is private; a `read` scope allows reading its target only.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(rename = "KeyScope")]
pub struct ScopeView {
    pub permission: PermissionView,
    /// Required for `publish`, `remove`, `read` and `build`; absent for `admin`,
    /// `metrics` and `agent`.
    #[oai(nullable)]
    pub distro: Option<String>,
    /// Limits the scope to one repository of `distro`.
    #[oai(nullable)]
    pub repo: Option<String>,
}

impl ScopeView {
    pub fn to_scope(&self) -> Result<Scope, ScopeError> {
        Scope::from_parts(
            self.permission.as_str(),
            self.distro.as_deref(),
            self.repo.as_deref(),
        )
    }
}

impl From<&Scope> for ScopeView {
    fn from(scope: &Scope) -> Self {
        let target = scope.target();
        Self {
            permission: scope.permission().into(),
            distro: target.map(|t| t.distro().to_string()),
            repo: target.and_then(|t| t.repo()).map(|r| r.to_string()),
        }
    }
}

/// A key to create.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NewKey")]
pub struct NewKeyView {
    /// What the key is for, e.g. `ci for extra`.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub name: String,
    /// At least one.
    #[oai(validator(min_items = 1, max_items = 100))]
    pub scopes: Vec<ScopeView>,
}

/// An API key, without its secret.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Key")]
pub struct KeyView {
    pub id: Uuid,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub scopes: Vec<ScopeView>,
    pub created_at: DateTime<Utc>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes.iter().map(ScopeView::from).collect(),
            created_at: k.created_at,
        }
    }
}

/// A key just created, with its secret: shown this once, never again.
#[derive(Debug, Clone, Object)]
#[oai(rename = "CreatedKey")]
pub struct CreatedKeyView {
    pub id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<ScopeView>,
    pub created_at: DateTime<Utc>,
    /// The key. Send it as `Authorization: Bearer <secret>`, `X-Api-Key: <secret>` or the
    /// HTTP Basic password.
    pub secret: String,
}

page_of!(
    /// A page of API keys, newest first.
    KeyPage,
    KeyView
);
