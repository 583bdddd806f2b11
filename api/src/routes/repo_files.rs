//! What pacman downloads: `GET`/`HEAD /{distro}/{repo}/{arch}/{file}` for the repository
//! databases and package files, with the caching and range semantics pacman relies on
//! (`If-Modified-Since` → 304 on `-Sy`, `Range` to resume downloads).

use poem::Body;
use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::{Binary, Json};
use poem_openapi::{ApiResponse, OpenApi};
use rieter::blobs::Digest;
use rieter::db::catalogue;
use rieter::names::{ArchName, DistroName, FileName, RepoName};
use rieter::publish::DbFileNames;

use super::Tag;
use crate::auth::MaybeCredentials;
use crate::error::{ApiError, Problem};
use crate::file_read;
use crate::http_file::{Selection, Validators, select};
use crate::state::AppState;

const ACCEPT_RANGES: &str = "bytes";

#[derive(ApiResponse)]
pub enum FileResponse {
    /// The whole file.
    #[oai(status = 200)]
    Ok(
        Binary<Body>,
        #[oai(header = "Content-Length")] u64,
        #[oai(header = "Last-Modified")] String,
        #[oai(header = "ETag")] String,
        #[oai(header = "Accept-Ranges")] String,
    ),
    /// The requested byte range of the file.
    #[oai(status = 206)]
    Partial(
        Binary<Body>,
        #[oai(header = "Content-Length")] u64,
        #[oai(header = "Content-Range")] String,
        #[oai(header = "Last-Modified")] String,
        #[oai(header = "ETag")] String,
        #[oai(header = "Accept-Ranges")] String,
    ),
    /// The client's copy is current (`If-None-Match` / `If-Modified-Since`).
    #[oai(status = 304)]
    NotModified(
        #[oai(header = "Last-Modified")] String,
        #[oai(header = "ETag")] String,
    ),
    /// The file is downloaded from the object store: follow `Location` (a presigned URL, valid
    /// for a limited time; send the same `Range` there).
    #[oai(status = 307)]
    Redirect(#[oai(header = "Location")] String),
    /// The requested range lies outside the file.
    #[oai(status = 416, content_type = "application/problem+json")]
    RangeNotSatisfiable(Json<Problem>, #[oai(header = "Content-Range")] String),
}

pub struct RepoFilesApi;

#[OpenApi(tag = "Tag::Repository")]
impl RepoFilesApi {
    /// Download a repository file: `{repo}.db`, `{repo}.db.tar.gz`, `{repo}.files`,
    /// `{repo}.files.tar.gz` or a package file named by the database. This is the URL to give
    /// pacman: `Server = https://host/{distro}/{repo}/$arch`. Files of a private distribution
    /// need a key with access to it, e.g. as the Basic password:
    /// `Server = https://_:KEY@host/{distro}/{repo}/$arch`. Without a key they answer 401 with
    /// a challenge (pacman sends the key only then); to a key without access, 404.
    #[oai(
        path = "/:distro/:repo/:arch/:name",
        method = "get",
        operation_id = "get_repo_file"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn get(
        &self,
        state: Data<&AppState>,
        distro: Path<String>,
        repo: Path<String>,
        arch: Path<String>,
        /// The file's name.
        #[oai(name = "name")]
        file: Path<String>,
        credentials: MaybeCredentials,
        #[oai(name = "Range")] range: Header<Option<String>>,
        #[oai(name = "If-Range")] if_range: Header<Option<String>>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
        #[oai(name = "If-Modified-Since")] if_modified_since: Header<Option<String>>,
    ) -> Result<FileResponse, ApiError> {
        let request = FileRequest {
            range: range.0,
            if_range: if_range.0,
            if_none_match: if_none_match.0,
            if_modified_since: if_modified_since.0,
            head: false,
        };
        let reader = state.auth.reader(&credentials).await?;
        reader.check_repo(&distro, &repo, || not_found(&distro, &repo, &arch, &file))?;
        serve(&state, &distro, &repo, &arch, &file, request).await
    }

    /// The headers `GET` would send for a repository file, without the body.
    #[oai(
        path = "/:distro/:repo/:arch/:name",
        method = "head",
        operation_id = "head_repo_file"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn head(
        &self,
        state: Data<&AppState>,
        distro: Path<String>,
        repo: Path<String>,
        arch: Path<String>,
        /// The file's name.
        #[oai(name = "name")]
        file: Path<String>,
        credentials: MaybeCredentials,
        #[oai(name = "Range")] range: Header<Option<String>>,
        #[oai(name = "If-Range")] if_range: Header<Option<String>>,
        #[oai(name = "If-None-Match")] if_none_match: Header<Option<String>>,
        #[oai(name = "If-Modified-Since")] if_modified_since: Header<Option<String>>,
    ) -> Result<FileResponse, ApiError> {
        let request = FileRequest {
            range: range.0,
            if_range: if_range.0,
            if_none_match: if_none_match.0,
            if_modified_since: if_modified_since.0,
            head: true,
        };
        let reader = state.auth.reader(&credentials).await?;
        reader.check_repo(&distro, &repo, || not_found(&distro, &repo, &arch, &file))?;
        serve(&state, &distro, &repo, &arch, &file, request).await
    }
}

struct FileRequest {
    range: Option<String>,
    if_range: Option<String>,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
    head: bool,
}

async fn serve(
    state: &AppState,
    distro: &str,
    repo: &str,
    arch: &str,
    file: &str,
    request: FileRequest,
) -> Result<FileResponse, ApiError> {
    let not_found = || not_found(distro, repo, arch, file);
    // A name that could not exist is simply not found.
    let (Ok(distro), Ok(repo), Ok(arch), Ok(file)) = (
        DistroName::parse(distro),
        RepoName::parse(repo),
        ArchName::parse(arch),
        FileName::parse(file),
    ) else {
        return Err(not_found());
    };
    let found = state
        .published
        .find(&state.reads, &distro, &repo, &arch, &file)
        .await
        .map_err(|e| ApiError::database("looking up a repository file", e))?;
    let Some(found) = found else {
        return empty_database(state, &distro, &repo, &arch, &file, &request)
            .await?
            .ok_or_else(not_found);
    };
    // A conditional request (`pacman -Sy` with a current database) and HEAD are answered
    // from the manifest alone; the blob is read only to send a body.
    let validators = Validators::of_blob(&found.digest, found.modified_at.into());
    if validators.not_modified(
        request.if_none_match.as_deref(),
        request.if_modified_since.as_deref(),
    ) {
        return Ok(FileResponse::NotModified(
            validators.last_modified(),
            validators.etag,
        ));
    }
    if !request.head
        && let Some(secs) = state.config.presigned_url_secs
        && !DbFileNames::new(&repo).contains(&file)
    {
        // Package files only: the databases are small, and their revalidation stays here.
        let presigned = state
            .blobs
            .presigned_url(&found.digest, std::time::Duration::from_secs(secs))
            .await
            .map_err(|e| ApiError::internal("presigning a download", e))?;
        if let Some(url) = presigned {
            return Ok(FileResponse::Redirect(url));
        }
    }
    let len = found.size as u64;
    let (start, part) = match select(
        request.range.as_deref(),
        request.if_range.as_deref(),
        len,
        &validators,
    ) {
        Selection::Full => (0, len),
        Selection::Partial { start, end } => (start, end - start + 1),
        Selection::Unsatisfiable => {
            return Ok(FileResponse::RangeNotSatisfiable(
                Json(Problem::new(
                    poem::http::StatusCode::RANGE_NOT_SATISFIABLE,
                    format!("the range lies outside the file's {len} bytes"),
                )),
                format!("bytes */{len}"),
            ));
        }
    };
    let body = if request.head {
        Body::empty()
    } else {
        blob_body(state, &found.digest, len, start, part)
            .await?
            .ok_or_else(not_found)?
    };
    if part == len {
        return Ok(FileResponse::Ok(
            Binary(body),
            len,
            validators.last_modified(),
            validators.etag,
            ACCEPT_RANGES.to_owned(),
        ));
    }
    Ok(FileResponse::Partial(
        Binary(body),
        part,
        format!("bytes {start}-{}/{len}", start + part - 1),
        validators.last_modified(),
        validators.etag,
        ACCEPT_RANGES.to_owned(),
    ))
}

/// `len` bytes from `start` of a blob of `size` bytes; `None` if the blob is gone (a file whose
/// grace period ended during this request, or a store that lost it).
async fn blob_body(
    state: &AppState,
    digest: &Digest,
    size: u64,
    start: u64,
    len: u64,
) -> Result<Option<Body>, ApiError> {
    // The local backend's blob is a file: read it as nginx would, without the object store.
    if let Some(path) = state.blobs.local_path(digest) {
        let file = match file_read::open(&path) {
            Ok((file, _)) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(blob = %digest, "a served file's blob is missing");
                return Ok(None);
            }
            Err(err) => return Err(ApiError::internal("opening a blob", err)),
        };
        return file
            .body(start, len)
            .map(Some)
            .map_err(|e| ApiError::internal("reading a blob", e));
    }
    let range = (start != 0 || len != size).then_some(start..start + len);
    match state.blobs.read(digest, range).await {
        Ok(stream) => Ok(Some(Body::from_bytes_stream(stream))),
        Err(err) if err.is_not_found() => {
            tracing::warn!(blob = %digest, "a served file's blob is missing");
            Ok(None)
        }
        Err(err) => Err(ApiError::internal("reading a blob", err)),
    }
}

fn not_found(distro: &str, repo: &str, arch: &str, file: &str) -> ApiError {
    ApiError::not_found(format!("no file {distro}/{repo}/{arch}/{file}"))
}

/// A repository architecture that exists but whose first database is not built yet serves an
/// empty database rather than a 404.
async fn empty_database(
    state: &AppState,
    distro: &DistroName,
    repo: &RepoName,
    arch: &ArchName,
    file: &FileName,
    request: &FileRequest,
) -> Result<Option<FileResponse>, ApiError> {
    if !DbFileNames::new(repo).contains(file) {
        return Ok(None);
    }
    let exists = catalogue::arch_exists(&state.reads, distro, repo, arch)
        .await
        .map_err(|e| ApiError::database("looking up a repository", e))?;
    if !exists {
        return Ok(None);
    }
    let bytes = rieter::repo_db::write_archive(Vec::new(), Vec::<Vec<u8>>::new())
        .map_err(|e| ApiError::internal("rendering an empty database", e))?;
    let len = bytes.len() as u64;
    // Dated at the epoch, so the first real database is always newer to If-Modified-Since.
    let validators = Validators::of_blob(&Digest::of(&bytes), std::time::UNIX_EPOCH);
    let body = if request.head {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    Ok(Some(FileResponse::Ok(
        Binary(body),
        len,
        validators.last_modified(),
        validators.etag,
        ACCEPT_RANGES.to_owned(),
    )))
}
