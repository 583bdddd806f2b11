//! A distribution's keys: the signing key its databases (and, when a repository asks, its
//! packages) are signed with, the public half of it for pacman-key, and the packager keys
//! whose signatures it accepts. Changing them needs an admin key; reading them, read access to
//! the distribution.

use poem::Body;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::{Binary, Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};
use rieter::db::catalogue;
use rieter::names::{DistroName, RepoName};
use rieter::signing::distro_keys::{self, DistroKeyError};
use tokio::io::AsyncReadExt;

use super::Tag;
use crate::auth::{Action, Credentials, MaybeCredentials};
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::{NewSigningKeyView, PackagerKeyList, RepoSettingsView, SigningKeyView};

/// The most an armored keyring may take: hundreds of packager keys.
const MAX_KEYRING_BYTES: u64 = 1 << 20;

#[derive(ApiResponse)]
pub enum SigningKeyCreated {
    /// The distribution's signing key; its databases are being signed.
    #[oai(status = 201)]
    Created(Json<SigningKeyView>),
}

#[derive(ApiResponse)]
pub enum SigningKeyResponse {
    #[oai(status = 200)]
    Ok(Json<SigningKeyView>),
}

#[derive(ApiResponse)]
pub enum Deleted {
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum PackagerKeysResponse {
    #[oai(status = 200)]
    Ok(Json<PackagerKeyList>),
}

#[derive(ApiResponse)]
pub enum PublicKeyResponse {
    /// The armored public key, for `pacman-key --add`.
    #[oai(status = 200, content_type = "application/pgp-keys")]
    Ok(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum RepoSettingsResponse {
    #[oai(status = 200)]
    Ok(Json<RepoSettingsView>),
}

pub struct SigningApi;

#[OpenApi(tag = "Tag::Signing")]
impl SigningApi {
    /// Give a distribution a signing key: `{}` generates an Ed25519 key (OpenPGP v4, as
    /// pacman verifies), `{"import": "<armored secret key>"}` imports one. From then on its
    /// databases are published with detached signatures (`{repo}.db.sig`, ...). The secret
    /// key is stored encrypted with the server's key encryption key; without one configured,
    /// this is refused. The distribution may not exist yet. Needs an admin key.
    #[oai(
        path = "/api/v1/distros/:distro/signing-key",
        method = "post",
        operation_id = "create_signing_key"
    )]
    async fn create(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
        body: Json<NewSigningKeyView>,
    ) -> Result<SigningKeyCreated, ApiError> {
        let distro = distro_name(&distro)?;
        configure(&state, &credentials, &distro).await?;
        let import = body.0.import.map(String::into_bytes);
        let created =
            distro_keys::create_signing_key(&state.pool, &distro, state.kek.as_deref(), import)
                .await
                .map_err(key_error)?;
        Ok(SigningKeyCreated::Created(Json(created.into())))
    }

    /// A distribution's signing key: its fingerprint and armored public key (never the secret).
    #[oai(
        path = "/api/v1/distros/:distro/signing-key",
        method = "get",
        operation_id = "get_signing_key"
    )]
    async fn get(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        distro: Path<String>,
    ) -> Result<SigningKeyResponse, ApiError> {
        let found = find_key(&state, &credentials, &distro).await?;
        Ok(SigningKeyResponse::Ok(Json(found.into())))
    }

    /// Remove a distribution's signing key. Its architectures that have published signed
    /// databases then publish nothing until it has a key again: pacman keeps a database's old
    /// signature when the new database comes without one, and refuses the database. Needs an
    /// admin key.
    #[oai(
        path = "/api/v1/distros/:distro/signing-key",
        method = "delete",
        operation_id = "delete_signing_key"
    )]
    async fn delete(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
    ) -> Result<Deleted, ApiError> {
        let distro = distro_name(&distro)?;
        configure(&state, &credentials, &distro).await?;
        let deleted = distro_keys::delete_signing_key(&state.pool, &distro)
            .await
            .map_err(|e| ApiError::database("deleting a signing key", e))?;
        if !deleted {
            return Err(no_signing_key(&distro));
        }
        Ok(Deleted::Deleted)
    }

    /// Set the packager keys a distribution trusts: the body is one or more armored OpenPGP
    /// public keys (`gpg --armor --export KEYID...`, `Content-Type: application/pgp-keys`),
    /// replacing the keys it had. From then on an upload to the distribution must carry a
    /// signature by one of them. Needs an admin key.
    #[oai(
        path = "/api/v1/distros/:distro/packager-keys",
        method = "put",
        operation_id = "set_packager_keys"
    )]
    async fn set_packager_keys(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
        body: Binary<Body>,
    ) -> Result<PackagerKeysResponse, ApiError> {
        let distro = distro_name(&distro)?;
        configure(&state, &credentials, &distro).await?;
        let mut armored = Vec::new();
        body.0
            .into_async_read()
            .take(MAX_KEYRING_BYTES + 1)
            .read_to_end(&mut armored)
            .await
            .map_err(|e| ApiError::bad_request(format!("reading the keys: {e}")))?;
        if armored.len() as u64 > MAX_KEYRING_BYTES {
            return Err(ApiError::payload_too_large(format!(
                "the keys take more than {MAX_KEYRING_BYTES} bytes"
            )));
        }
        let keys = distro_keys::set_packager_keys(&state.pool, &distro, armored)
            .await
            .map_err(key_error)?;
        Ok(PackagerKeysResponse::Ok(Json(PackagerKeyList {
            items: keys.into_iter().map(Into::into).collect(),
        })))
    }

    /// The packager keys a distribution trusts, by fingerprint (empty: uploads need no
    /// signature).
    #[oai(
        path = "/api/v1/distros/:distro/packager-keys",
        method = "get",
        operation_id = "list_packager_keys"
    )]
    async fn list_packager_keys(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        distro: Path<String>,
    ) -> Result<PackagerKeysResponse, ApiError> {
        let reader = state.auth.reader(&credentials).await?;
        reader.check_named(&distro, || no_distro(&distro))?;
        let distro = DistroName::parse(&distro).map_err(|_| no_distro(&distro))?;
        let keys = distro_keys::packager_keys(&state.reads, &distro)
            .await
            .map_err(|e| ApiError::database("listing packager keys", e))?;
        Ok(PackagerKeysResponse::Ok(Json(PackagerKeyList {
            items: keys.into_iter().map(Into::into).collect(),
        })))
    }

    /// Remove every packager key of a distribution: uploads need no signature from then on.
    /// Needs an admin key.
    #[oai(
        path = "/api/v1/distros/:distro/packager-keys",
        method = "delete",
        operation_id = "delete_packager_keys"
    )]
    async fn delete_packager_keys(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
    ) -> Result<Deleted, ApiError> {
        let distro = distro_name(&distro)?;
        configure(&state, &credentials, &distro).await?;
        distro_keys::delete_packager_keys(&state.pool, &distro)
            .await
            .map_err(|e| ApiError::database("deleting packager keys", e))?;
        Ok(Deleted::Deleted)
    }

    /// Whether the server signs the packages that arrive unsigned in a repository, with its
    /// distribution's signing key (`{"sign_packages": true}`). The repository may not exist
    /// yet. Needs an admin key.
    #[oai(
        path = "/api/v1/distros/:distro/repos/:repo/settings",
        method = "put",
        operation_id = "set_repo_settings"
    )]
    async fn set_repo_settings(
        &self,
        state: Data<&AppState>,
        credentials: Credentials,
        distro: Path<String>,
        repo: Path<String>,
        body: Json<RepoSettingsView>,
    ) -> Result<RepoSettingsResponse, ApiError> {
        let distro = distro_name(&distro)?;
        let repo = RepoName::parse(&repo).map_err(|e| ApiError::bad_request(e.to_string()))?;
        configure(&state, &credentials, &distro).await?;
        let mut conn = state
            .pool
            .acquire()
            .await
            .map_err(|e| ApiError::database("changing a repository's settings", e))?;
        catalogue::set_sign_packages(&mut conn, &distro, &repo, body.0.sign_packages)
            .await
            .map_err(|e| ApiError::database("changing a repository's settings", e))?;
        Ok(RepoSettingsResponse::Ok(Json(body.0)))
    }

    /// A repository's settings.
    #[oai(
        path = "/api/v1/distros/:distro/repos/:repo/settings",
        method = "get",
        operation_id = "get_repo_settings"
    )]
    async fn get_repo_settings(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        distro: Path<String>,
        repo: Path<String>,
    ) -> Result<RepoSettingsResponse, ApiError> {
        let not_found = || ApiError::not_found(format!("no repository {}/{}", distro.0, repo.0));
        let reader = state.auth.reader(&credentials).await?;
        reader.check_repo(&distro, &repo, not_found)?;
        let (Ok(d), Ok(r)) = (DistroName::parse(&distro), RepoName::parse(&repo)) else {
            return Err(not_found());
        };
        if catalogue::find_repo(&state.reads, &d, &r)
            .await
            .map_err(|e| ApiError::database("reading a repository", e))?
            .is_none()
        {
            return Err(not_found());
        }
        let sign_packages = catalogue::signs_packages(&state.reads, &d, &r)
            .await
            .map_err(|e| ApiError::database("reading a repository", e))?;
        Ok(RepoSettingsResponse::Ok(Json(RepoSettingsView {
            sign_packages,
        })))
    }
}

pub struct PublicKeyApi;

#[OpenApi(tag = "Tag::Repository")]
impl PublicKeyApi {
    /// The public key a distribution's databases are signed with, armored, for
    /// `pacman-key --add`; then `pacman-key --lsign-key FINGERPRINT`.
    #[oai(path = "/:distro/key", method = "get", operation_id = "get_public_key")]
    async fn public_key(
        &self,
        state: Data<&AppState>,
        credentials: MaybeCredentials,
        distro: Path<String>,
    ) -> Result<PublicKeyResponse, ApiError> {
        let found = find_key(&state, &credentials, &distro).await?;
        Ok(PublicKeyResponse::Ok(PlainText(found.public_key)))
    }
}

/// The signing key of `distro` as `credentials` may see it.
async fn find_key(
    state: &AppState,
    credentials: &MaybeCredentials,
    distro: &str,
) -> Result<distro_keys::SigningKeyInfo, ApiError> {
    let reader = state.auth.reader(credentials).await?;
    reader.check_named(distro, || no_distro(distro))?;
    let name = DistroName::parse(distro).map_err(|_| no_distro(distro))?;
    distro_keys::signing_key(&state.reads, &name)
        .await
        .map_err(|e| ApiError::database("reading a signing key", e))?
        .ok_or_else(|| no_signing_key(&name))
}

async fn configure(
    state: &AppState,
    credentials: &Credentials,
    distro: &DistroName,
) -> Result<(), ApiError> {
    state
        .auth
        .authorize(credentials, Action::ConfigureDistro { distro })
        .await?;
    Ok(())
}

fn distro_name(name: &str) -> Result<DistroName, ApiError> {
    DistroName::parse(name).map_err(|e| ApiError::bad_request(e.to_string()))
}

fn no_distro(name: &str) -> ApiError {
    ApiError::not_found(format!("no distribution {name}"))
}

fn no_signing_key(distro: &DistroName) -> ApiError {
    ApiError::not_found(format!("distribution {distro} has no signing key"))
}

fn key_error(err: DistroKeyError) -> ApiError {
    match err {
        DistroKeyError::Db(err) => ApiError::database("storing keys", err),
        DistroKeyError::NoEncryptionKey | DistroKeyError::Exists { .. } => {
            ApiError::conflict(err.to_string())
        }
        DistroKeyError::Key(_) | DistroKeyError::Keyring(_) => {
            ApiError::bad_request(err.to_string())
        }
        DistroKeyError::Seal(_) | DistroKeyError::Join(_) => {
            ApiError::internal("sealing a key", err)
        }
    }
}
