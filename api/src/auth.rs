//! Who is calling, and whether they may do what they ask.
//!
//! A key is accepted as `Authorization: Bearer <key>`, `X-Api-Key: <key>`, or as the password
//! of HTTP Basic auth (so `Server = https://_:KEY@host/...` works in pacman.conf). It is the
//! configured admin key or a key made with `POST /api/v1/keys`; what a key may do is decided
//! by `rieter::keys::permits`.
//!
//! A missing or unknown key is a 401; a known key without the scope for the action is a 403.
//! Reads need no key, except of private distributions: without access to one, a caller sees
//! nothing of it. Listings leave it out; a path naming it answers 401 without a key (so that
//! clients such as pacman send theirs) and 404 to a key without access; a package or upload
//! of it, asked for by id, is 404 as for an id that does not exist.

use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Basic, Bearer};
use rieter::actor::Actor;
use rieter::db::keys::{self as key_db, KeyDbError};
use rieter::db::listing::Hidden;
use rieter::keys::{self, Scope, Visibility};
use rieter::sessions::Token;
use rieter::settings::Secret;
use sqlx::PgPool;
use uuid::Uuid;

pub use rieter::keys::Access as Action;

use crate::error::ApiError;

/// `Authorization: Bearer <key>`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", rename = "bearerKey")]
pub struct BearerKey(Bearer);

/// `X-Api-Key: <key>`.
#[derive(SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "X-Api-Key",
    key_in = "header",
    rename = "headerKey"
)]
pub struct HeaderKey(ApiKey);

/// HTTP Basic auth; the user name is ignored and the password is the key.
#[derive(SecurityScheme)]
#[oai(ty = "basic", rename = "basicKey")]
pub struct BasicKey(Basic);

/// Any of the accepted ways to present an API key; operations taking it require one.
#[derive(SecurityScheme)]
pub enum Credentials {
    Bearer(BearerKey),
    Header(HeaderKey),
    Basic(BasicKey),
}

/// A key if one is presented: operations taking it are public but show more to some keys
/// (private distributions).
#[derive(SecurityScheme)]
pub enum MaybeCredentials {
    Bearer(BearerKey),
    Header(HeaderKey),
    Basic(BasicKey),
    #[oai(fallback)]
    Anonymous,
}

impl Credentials {
    pub fn key(&self) -> &str {
        match self {
            Self::Bearer(b) => &b.0.token,
            Self::Header(h) => &h.0.key,
            Self::Basic(b) => &b.0.password,
        }
    }
}

impl MaybeCredentials {
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Bearer(b) => Some(&b.0.token),
            Self::Header(h) => Some(&h.0.key),
            Self::Basic(b) => Some(&b.0.password),
            Self::Anonymous => None,
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No key presented.
    Anonymous,
    /// The configured admin key.
    Admin,
    /// A key from the database.
    Key {
        id: Uuid,
        scopes: Vec<Scope>,
        /// How uploads and removals by it are recorded.
        actor: Actor,
    },
}

impl Principal {
    pub fn may(&self, access: Action<'_>) -> bool {
        match self {
            Self::Anonymous => false,
            Self::Admin => true,
            Self::Key { scopes, .. } => keys::permits(scopes, access),
        }
    }

    /// Where the build targets it manages publish: everywhere for the admin, the places of
    /// its `build` scopes for a key; `None` when it manages none.
    pub fn target_reach(&self) -> Option<rieter::db::targets::Reach> {
        use rieter::db::targets::Reach;
        match self {
            Self::Admin => Some(Reach::All),
            Self::Key { scopes, .. } if scopes.contains(&rieter::keys::Scope::Admin) => {
                Some(Reach::All)
            }
            Self::Key { scopes, .. } => {
                let places: Vec<_> = scopes
                    .iter()
                    .filter_map(|scope| match scope {
                        rieter::keys::Scope::Build(t) => {
                            Some((t.distro().clone(), t.repo().cloned()))
                        }
                        _ => None,
                    })
                    .collect();
                (!places.is_empty()).then_some(Reach::Some(places))
            }
            Self::Anonymous => None,
        }
    }

    /// Whether it manages the target of `build` (and so may see and cancel the build).
    pub fn manages_build(&self, build: &rieter::db::builds::BuildRecord) -> bool {
        use rieter::names::{DistroName, RepoName};
        match (
            DistroName::parse(&build.distro),
            RepoName::parse(&build.repo),
        ) {
            (Ok(distro), Ok(repo)) => self.may(Action::ManageTargets {
                distro: &distro,
                repo: &repo,
            }),
            _ => false,
        }
    }

    /// Who to record as having done something; `None` for an anonymous caller.
    pub fn actor(&self) -> Option<Actor> {
        match self {
            Self::Anonymous => None,
            Self::Admin => Some(Actor::Config),
            Self::Key { actor, .. } => Some(actor.clone()),
        }
    }

    /// How much of the private distribution `distro` it may read.
    pub fn visibility(&self, distro: &str) -> Visibility {
        match self {
            Self::Anonymous => Visibility::Nothing,
            Self::Admin => Visibility::All,
            Self::Key { scopes, .. } => keys::visibility(scopes, distro),
        }
    }
}

#[derive(Clone)]
pub struct Authenticator {
    admin_key_digest: [u8; 32],
    pool: PgPool,
    private_distros: Vec<String>,
}

impl Authenticator {
    pub fn new(admin_key: &Secret<String>, pool: PgPool, private_distros: Vec<String>) -> Self {
        Self {
            admin_key_digest: keys::digest(admin_key.expose()),
            pool,
            private_distros,
        }
    }

    /// The caller for a presented key: 401 when it is not a key we know.
    pub async fn identify(&self, key: &str) -> Result<Principal, ApiError> {
        let presented = keys::digest(key);
        if keys::digests_match(&presented, &self.admin_key_digest) {
            return Ok(Principal::Admin);
        }
        let invalid = || ApiError::unauthorized("the API key is not valid");
        let Some(prefix) = keys::prefix_of(key) else {
            return Err(invalid());
        };
        let candidates = key_db::candidates(&self.pool, prefix)
            .await
            .map_err(|e| match e {
                KeyDbError::Sql(e) => ApiError::database("looking up an API key", e),
                other => ApiError::internal("looking up an API key", other),
            })?;
        // Every candidate is compared, so timing does not depend on which one matched.
        let mut found = None;
        for candidate in candidates {
            if keys::digests_match(&presented, &candidate.secret_sha256) {
                let actor = key_actor(candidate.id, &candidate.name, &candidate.prefix)
                    .map_err(|e| ApiError::internal("reading an API key", e))?;
                found = Some(Principal::Key {
                    id: candidate.id,
                    scopes: candidate.scopes,
                    actor,
                });
            }
        }
        found.ok_or_else(invalid)
    }

    /// Checks that the key may do `action`: 401 for an unknown key, 403 for a known one
    /// without the scope. Returns the key as the actor to record.
    pub async fn authorize(
        &self,
        credentials: &Credentials,
        action: Action<'_>,
    ) -> Result<Actor, ApiError> {
        let principal = self.identify(credentials.key()).await?;
        let actor = principal
            .actor()
            .ok_or_else(|| ApiError::unauthorized("an API key is required"))?;
        if !principal.may(action) {
            tracing::info!(
                ?action,
                actor.kind = actor.kind().as_str(),
                actor.prefix = actor.prefix(),
                "API key lacks the scope"
            );
            return Err(ApiError::forbidden("the API key may not do this"));
        }
        tracing::debug!(
            ?action,
            actor.kind = actor.kind().as_str(),
            actor.prefix = actor.prefix(),
            "authorized"
        );
        Ok(actor)
    }

    /// What a caller without a key may not see: every private distribution.
    pub fn anonymous(&self) -> Hidden {
        Hidden::new(self.private_distros.clone(), Vec::new())
    }

    /// What a reader may see: 401 for an unknown key.
    pub async fn reader(&self, credentials: &MaybeCredentials) -> Result<Reader, ApiError> {
        let principal = match credentials.key() {
            Some(key) => self.identify(key).await?,
            None => Principal::Anonymous,
        };
        Ok(Reader {
            hidden: self.hidden_for(&principal),
            anonymous: principal == Principal::Anonymous,
        })
    }

    /// What of the private distributions `principal` may not see (the pages ask this for a
    /// signed-in visitor, the API for a presented key).
    pub fn hidden_for(&self, principal: &Principal) -> Hidden {
        let mut restricted = Vec::new();
        let mut open = Vec::new();
        for distro in &self.private_distros {
            match principal.visibility(distro) {
                Visibility::All => {}
                Visibility::Repos(repos) => {
                    restricted.push(distro.clone());
                    open.extend(repos.iter().map(|r| (distro.clone(), r.to_string())));
                }
                Visibility::Nothing => restricted.push(distro.clone()),
            }
        }
        Hidden::new(restricted, open)
    }

    /// Binds a web session of the configured admin key to it (`rieter::sessions`).
    pub fn admin_binding(&self, session: &Token) -> [u8; 32] {
        session.admin_binding(&self.admin_key_digest)
    }

    /// The principal of the stored key `id`, if it still exists.
    pub async fn key_principal(&self, id: Uuid) -> Result<Option<Principal>, KeyDbError> {
        let Some(key) = key_db::find(&self.pool, id).await? else {
            return Ok(None);
        };
        Ok(Some(Principal::Key {
            actor: key_actor(key.id, &key.name, &key.prefix)?,
            id: key.id,
            scopes: key.scopes,
        }))
    }
}

/// How a stored key's actions are recorded; a key whose stored name no longer makes an actor
/// is unusable, as one with a stored scope that no longer parses.
fn key_actor(id: Uuid, name: &str, prefix: &str) -> Result<Actor, KeyDbError> {
    Actor::key(id, name, prefix).map_err(|source| KeyDbError::BadActor { id, source })
}

/// A caller of a read operation.
pub struct Reader {
    /// The private distributions it may not see.
    pub hidden: Hidden,
    anonymous: bool,
}

impl Reader {
    /// For a request whose path names `distro`: fine when the caller may see at least part of
    /// it. Otherwise a caller without a key is asked for one (401 with `WWW-Authenticate`:
    /// pacman and curl send the credentials of a `https://_:KEY@host/` URL only after that
    /// challenge), and a key without access gets `not_found`, the answer for a name that does
    /// not exist. Both answers are the same whether or not the named thing exists.
    pub fn check_named(
        &self,
        distro: &str,
        not_found: impl FnOnce() -> ApiError,
    ) -> Result<(), ApiError> {
        self.check(self.hidden.hides(distro), not_found)
    }

    /// As [`Self::check_named`], for a path naming a repository: a key that may read only some
    /// repositories of a private distribution gets `not_found` for the others.
    pub fn check_repo(
        &self,
        distro: &str,
        repo: &str,
        not_found: impl FnOnce() -> ApiError,
    ) -> Result<(), ApiError> {
        self.check(self.hidden.hides_repo(distro, repo), not_found)
    }

    fn check(&self, hidden: bool, not_found: impl FnOnce() -> ApiError) -> Result<(), ApiError> {
        match (hidden, self.anonymous) {
            (false, _) => Ok(()),
            (true, true) => Err(ApiError::key_required()),
            (true, false) => Err(not_found()),
        }
    }
}
