//! Making a sync's state live, all at once: in one transaction, each changed architecture's
//! packages replace its catalogue entries, its manifest switches to the upstream's own
//! database bytes (and signatures) and to the package files they name, and the sync is closed.
//! Every blob is in the store and held before this runs.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use bytes::Bytes;
use sqlx::PgConnection;

use super::fetch::Validators;
use super::sync::{SyncContext, SyncError, decode_signature};
use crate::blobs::{self, Digest, Source};
use crate::db::manifest::{self, Entry};
use crate::db::mirrors::{self, ArchState, MirrorRecord};
use crate::db::{catalogue, packages, regen};
use crate::names::{ArchName, FileName};
use crate::publish::DbFileNames;
use crate::repo_db::{self, DbEntry, SyncEntry};

/// A file fetched from the upstream, complete in scratch.
#[derive(Debug, Clone)]
pub struct UpstreamFile {
    pub path: PathBuf,
    pub size: u64,
    pub digest: Digest,
}

/// One architecture's new upstream state, fetched, verified and read.
#[derive(Debug)]
pub struct UpstreamArch {
    pub arch: ArchName,
    pub db: UpstreamFile,
    pub files: Option<UpstreamFile>,
    pub db_sig: Option<Vec<u8>>,
    pub files_sig: Option<Vec<u8>>,
    pub validators: Validators,
    pub entries: Vec<SyncEntry>,
}

/// Makes `changed` live and closes the sync as succeeded. Returns the repository's package
/// count, or `None` if the mirror was deleted meanwhile (nothing changes then).
pub async fn publish(
    ctx: &SyncContext,
    mirror: &MirrorRecord,
    sync_id: i64,
    changed: &[UpstreamArch],
    lastupdate: Option<i64>,
) -> Result<Option<i64>, SyncError> {
    let names = DbFileNames::new(&mirror.repo);
    let mut tx = ctx.pool.begin().await?;
    // Blobs first (claiming may write to the store); rows are locked only after that.
    let mut signatures: HashMap<FileName, (Digest, i64)> = HashMap::new();
    for upstream in changed {
        for file in [Some(&upstream.db), upstream.files.as_ref()]
            .into_iter()
            .flatten()
        {
            blobs::claim(
                &mut tx,
                &ctx.store,
                &file.digest,
                file.size,
                Source::File(&file.path),
            )
            .await?;
        }
        let database_signatures = [
            upstream.db_sig.as_ref(),
            upstream.files.as_ref().and(upstream.files_sig.as_ref()),
        ];
        for sig in database_signatures.into_iter().flatten() {
            claim_bytes(&mut tx, ctx, sig).await?;
        }
        if mirror.spec.keep_signatures {
            for entry in &upstream.entries {
                if signatures.contains_key(&entry.filename) {
                    continue;
                }
                if let Some(sig) = entry.pgpsig.as_deref().and_then(decode_signature) {
                    let digest = claim_bytes(&mut tx, ctx, &sig).await?;
                    signatures.insert(entry.filename.clone(), (digest, sig.len() as i64));
                }
            }
        }
    }
    if !mirrors::lock(&mut tx, mirror.id).await? {
        return Ok(None);
    }
    for upstream in changed {
        let repo_arch_id =
            catalogue::ensure_repo_arch(&mut tx, mirror.repo_id, &upstream.arch).await?;
        regen::lock_target(&mut tx, repo_arch_id).await?;
        replace_catalogue(
            &mut tx,
            mirror.repo_id,
            &upstream.arch,
            &upstream.entries,
            &signatures,
        )
        .await?;
        let listing = listing(&names, upstream, &signatures);
        let live = manifest::current(&mut *tx, repo_arch_id).await?;
        let change = manifest::diff(&live, listing);
        manifest::switch(&mut tx, repo_arch_id, &change, ctx.grace).await?;
        let signed = upstream.db_sig.is_some();
        mirrors::mark_published(&mut tx, repo_arch_id, upstream.entries.len(), signed).await?;
        mirrors::set_arch_state(
            &mut *tx,
            mirror.id,
            &upstream.arch,
            &ArchState {
                etag: upstream.validators.etag.clone(),
                last_modified: upstream.validators.last_modified.clone(),
                db_digest: upstream.db.digest.clone(),
            },
        )
        .await?;
    }
    mirrors::release_held(&mut tx, mirror.id).await?;
    let count = catalogue::package_count(&mut *tx, mirror.repo_id).await?;
    mirrors::succeed(&mut tx, mirror.id, sync_id, count, lastupdate).await?;
    tx.commit().await?;
    Ok(Some(count))
}

async fn claim_bytes(
    tx: &mut PgConnection,
    ctx: &SyncContext,
    bytes: &[u8],
) -> Result<Digest, SyncError> {
    let digest = Digest::of(bytes);
    blobs::claim(
        tx,
        &ctx.store,
        &digest,
        bytes.len() as u64,
        Source::Bytes(Bytes::copy_from_slice(bytes)),
    )
    .await?;
    Ok(digest)
}

/// What the architecture serves after the switch: the upstream's databases under both names
/// (with their signatures), every package, and each package's signature when kept.
fn listing(
    names: &DbFileNames,
    upstream: &UpstreamArch,
    signatures: &HashMap<FileName, (Digest, i64)>,
) -> Vec<Entry> {
    let mut listing = Vec::with_capacity(2 * upstream.entries.len() + 8);
    let mut add = |filename: &FileName, digest: &Digest, size: i64| {
        listing.push(Entry {
            filename: filename.clone(),
            digest: digest.clone(),
            size,
        });
    };
    let databases = [
        (
            &names.db,
            &names.db_link,
            Some(&upstream.db),
            upstream.db_sig.as_ref(),
        ),
        (
            &names.files,
            &names.files_link,
            upstream.files.as_ref(),
            upstream.files_sig.as_ref(),
        ),
    ];
    for (name, link, file, sig) in databases {
        let Some(file) = file else { continue };
        for name in [name, link] {
            add(name, &file.digest, file.size as i64);
            if let Some(sig) = sig {
                let sig_name = FileName::signature_of(name).expect("room for `.sig`");
                add(&sig_name, &Digest::of(sig), sig.len() as i64);
            }
        }
    }
    for entry in &upstream.entries {
        add(&entry.filename, &entry.sha256, entry.compressed_size);
        if let Some((digest, size)) = signatures.get(&entry.filename)
            && let Ok(sig_name) = FileName::signature_of(&entry.filename)
        {
            add(&sig_name, digest, *size);
        }
    }
    listing
}

/// Packages inserted per statement: bounded, as their entries and file lists travel in it.
const INSERT_BATCH: usize = 500;

/// Makes the catalogue's packages of `arch` (and `any`) those of the upstream's database:
/// packages it no longer lists leave, new and changed ones come in, identical ones stay. An
/// `any` package another architecture still serves stays for it.
async fn replace_catalogue(
    tx: &mut PgConnection,
    repo_id: i64,
    arch: &ArchName,
    entries: &[SyncEntry],
    signatures: &HashMap<FileName, (Digest, i64)>,
) -> Result<(), SyncError> {
    let existing = mirrors::catalogue_of(&mut *tx, repo_id, arch).await?;
    let served_elsewhere = mirrors::served_by_other_arches(&mut *tx, repo_id, arch).await?;
    let wanted: HashMap<(&str, &str), &SyncEntry> = entries
        .iter()
        .map(|e| ((e.info.arch.as_str(), e.info.name.as_str()), e))
        .collect();
    let mut kept = HashSet::new();
    let mut leaving = Vec::new();
    for p in &existing {
        match wanted.get(&(p.arch.as_str(), p.name.as_str())) {
            Some(entry) if entry.sha256 == p.sha256 => {
                kept.insert((p.arch.as_str(), p.name.as_str()));
            }
            Some(_) => leaving.push(p.id),
            None if p.arch == ArchName::ANY && served_elsewhere.contains(&p.filename) => {}
            None => leaving.push(p.id),
        }
    }
    if !leaving.is_empty() {
        packages::delete(&mut *tx, &leaving).await?;
    }
    // Rendered first, then inserted in batches: one statement per batch, not two per package.
    struct Rendered<'e> {
        entry: &'e SyncEntry,
        md5: &'e str,
        files: &'e [String],
        members: repo_db::EntryMembers,
        signature: Option<packages::NewSignature>,
    }
    let mut rendered = Vec::new();
    for entry in entries {
        if kept.contains(&(entry.info.arch.as_str(), entry.info.name.as_str())) {
            continue;
        }
        let md5 = entry.md5.as_deref().unwrap_or("");
        let files = entry.files.as_deref().unwrap_or(&[]);
        let mut db_entry = DbEntry::new(
            &entry.info,
            entry.filename.as_str(),
            entry.compressed_size,
            md5,
            entry.sha256.as_str(),
        );
        db_entry.pgpsig = entry.pgpsig.as_deref();
        let members = repo_db::render_members(&db_entry, files)?;
        // A kept signature is the package's, as an uploaded one is: served as `.sig`.
        let signature = match (&entry.pgpsig, signatures.get(&entry.filename)) {
            (Some(base64), Some((digest, size))) => Some(packages::NewSignature {
                base64: base64.clone(),
                digest: digest.clone(),
                size: *size as i32,
            }),
            _ => None,
        };
        rendered.push(Rendered {
            entry,
            md5,
            files,
            members,
            signature,
        });
    }
    for batch in rendered.chunks(INSERT_BATCH) {
        let new: Vec<packages::NewPackage<'_>> = batch
            .iter()
            .map(|r| packages::NewPackage {
                repo_id,
                upload_id: None,
                info: &r.entry.info,
                filename: &r.entry.filename,
                compressed_size: r.entry.compressed_size,
                sha256: &r.entry.sha256,
                md5: r.md5,
                files: r.files,
                db_member: &r.members.db,
                files_member: &r.members.files,
                signature: r.signature.as_ref(),
            })
            .collect();
        packages::insert_many(&mut *tx, repo_id, &new).await?;
    }
    Ok(())
}
