//! Packages: the current version of each package name in a repository.

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::blobs::Digest;
use crate::names::FileName;
use crate::package::PkgInfo;

/// A package already in the repository that a new one of the same name would replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub id: i64,
    /// `None` for a package that came from a mirror.
    pub upload_id: Option<Uuid>,
    pub arch: String,
    pub version: String,
    pub sha256: Digest,
    /// Whether the upload that brought it is published (its database is live); true for a
    /// package that came from a mirror.
    pub published: bool,
}

/// Packages named `name` in the repository that share a database with a package of `arch`:
/// the same architecture, or `any` on either side.
pub async fn current_for(
    executor: impl PgExecutor<'_>,
    repo_id: i64,
    name: &str,
    arch: &str,
) -> Result<Vec<Current>, sqlx::Error> {
    sqlx::query_as!(
        Current,
        r#"select p.id, p.upload_id, p.arch, p.version, p.sha256 as "sha256: Digest",
                  coalesce(u.status = 'published', true) as "published!"
           from packages p left join uploads u on u.id = p.upload_id
           where p.repo_id = $1 and p.name = $2
             and (p.arch = $3 or p.arch = 'any' or $3 = 'any')
           order by p.id"#,
        repo_id,
        name,
        arch
    )
    .fetch_all(executor)
    .await
}

/// A package about to be recorded.
pub struct NewPackage<'a> {
    pub repo_id: i64,
    /// `None` for a package from a mirror.
    pub upload_id: Option<Uuid>,
    pub info: &'a PkgInfo,
    pub filename: &'a FileName,
    pub compressed_size: i64,
    pub sha256: &'a Digest,
    pub md5: &'a str,
    pub files: &'a [String],
    pub db_member: &'a [u8],
    pub files_member: &'a [u8],
    pub signature: Option<&'a NewSignature>,
}

/// A package's detached signature: its blob, and the same bytes base64 for `%PGPSIG%`.
pub struct NewSignature {
    pub base64: String,
    pub digest: Digest,
    pub size: i32,
}

pub async fn insert(conn: &mut PgConnection, new: &NewPackage<'_>) -> Result<i64, sqlx::Error> {
    let info = new.info;
    let id = sqlx::query_scalar!(
        "insert into packages (
            repo_id, upload_id, arch, name, base, version, description, url, build_date, packager,
            installed_size, compressed_size, filename, sha256, md5, licenses, groups, replaces,
            conflicts, provides, backup, depends, optdepends, makedepends, checkdepends, xdata,
            db_member, files_member, pgpsig, signature_digest, signature_size)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                 $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)
         returning id",
        new.repo_id,
        new.upload_id,
        info.arch.as_str(),
        info.name.as_str(),
        info.base,
        info.version.as_str(),
        info.description,
        info.url,
        info.build_date,
        info.packager,
        info.installed_size,
        new.compressed_size,
        new.filename as &FileName,
        new.sha256 as &Digest,
        new.md5,
        &info.licenses,
        &info.groups,
        &info.replaces,
        &info.conflicts,
        &info.provides,
        &info.backup,
        &info.depends,
        &info.optdepends,
        &info.makedepends,
        &info.checkdepends,
        &info.xdata,
        new.db_member,
        new.files_member,
        new.signature.map(|s| s.base64.as_str()),
        new.signature.map(|s| s.digest.as_str()),
        new.signature.map(|s| s.size),
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "insert into package_files (package_id, paths) values ($1, $2)",
        id,
        new.files
    )
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Inserts packages in one statement (and their file lists in a second): what recording
/// thousands at once takes (a mirror's sync), where [`insert`] would cost two round trips and
/// a trigger run each. Returns how many were inserted.
pub async fn insert_many(
    conn: &mut PgConnection,
    repo_id: i64,
    new: &[NewPackage<'_>],
) -> Result<u64, sqlx::Error> {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let rows: Vec<serde_json::Value> = new
        .iter()
        .map(|p| {
            let i = p.info;
            serde_json::json!({
                "upload_id": p.upload_id,
                "arch": i.arch.as_str(), "name": i.name.as_str(), "base": i.base,
                "version": i.version.as_str(), "description": i.description, "url": i.url,
                "build_date": i.build_date, "packager": i.packager,
                "installed_size": i.installed_size, "compressed_size": p.compressed_size,
                "filename": p.filename.as_str(), "sha256": p.sha256.as_str(), "md5": p.md5,
                "licenses": i.licenses, "groups": i.groups, "replaces": i.replaces,
                "conflicts": i.conflicts, "provides": i.provides, "backup": i.backup,
                "depends": i.depends, "optdepends": i.optdepends,
                "makedepends": i.makedepends, "checkdepends": i.checkdepends,
                "xdata": i.xdata,
                "db_member": b64(p.db_member), "files_member": b64(p.files_member),
                "pgpsig": p.signature.map(|s| s.base64.as_str()),
                "signature_digest": p.signature.map(|s| s.digest.as_str()),
                "signature_size": p.signature.map(|s| s.size),
                "paths": p.files,
            })
        })
        .collect();
    let inserted = sqlx::query!(
        r#"with new as (
             select * from jsonb_to_recordset($2::jsonb) as n(
               upload_id uuid, arch text, name text, base text, version text,
               description text, url text, build_date bigint, packager text,
               installed_size bigint, compressed_size bigint, filename text, sha256 text,
               md5 text, licenses text[], groups text[], replaces text[], conflicts text[],
               provides text[], backup text[], depends text[], optdepends text[],
               makedepends text[], checkdepends text[], xdata text[], db_member text,
               files_member text, pgpsig text, signature_digest text, signature_size int,
               paths text[])
           ), inserted as (
             insert into packages (
               repo_id, upload_id, arch, name, base, version, description, url, build_date,
               packager, installed_size, compressed_size, filename, sha256, md5, licenses,
               groups, replaces, conflicts, provides, backup, depends, optdepends,
               makedepends, checkdepends, xdata, db_member, files_member, pgpsig,
               signature_digest, signature_size)
             select $1, upload_id, arch, name, base, version, description, url, build_date,
                    packager, installed_size, compressed_size, filename, sha256, md5,
                    licenses, groups, replaces, conflicts, provides, backup, depends,
                    optdepends, makedepends, checkdepends, xdata,
                    decode(db_member, 'base64'), decode(files_member, 'base64'), pgpsig,
                    signature_digest, signature_size
             from new
             returning id, filename
           )
           insert into package_files (package_id, paths)
           select i.id, n.paths from inserted i join new n on n.filename = i.filename"#,
        repo_id,
        serde_json::Value::Array(rows)
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected())
}

/// A package that was deleted.
#[derive(Debug, Clone)]
pub struct Deleted {
    pub upload_id: Option<Uuid>,
    pub repo_id: i64,
    pub name: String,
    pub arch: String,
    pub version: String,
}

/// Deletes packages, returning what they were.
pub async fn delete(
    executor: impl PgExecutor<'_>,
    ids: &[i64],
) -> Result<Vec<Deleted>, sqlx::Error> {
    sqlx::query_as!(
        Deleted,
        "delete from packages where id = any($1)
         returning upload_id, repo_id, name, arch, version",
        ids
    )
    .fetch_all(executor)
    .await
}

/// Of the given packages, those still in the catalogue.
pub async fn still_current(
    executor: impl PgExecutor<'_>,
    ids: &[i64],
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from packages where id = any($1) order by id",
        ids
    )
    .fetch_all(executor)
    .await
}

/// Where a package is: what locking its name and finding its databases take.
#[derive(Debug, Clone)]
pub struct Located {
    pub id: i64,
    pub repo_id: i64,
    pub name: String,
    pub arch: String,
}

pub async fn locate(
    executor: impl PgExecutor<'_>,
    ids: &[i64],
) -> Result<Vec<Located>, sqlx::Error> {
    sqlx::query_as!(
        Located,
        "select id, repo_id, name, arch from packages where id = any($1) order by id",
        ids
    )
    .fetch_all(executor)
    .await
}
