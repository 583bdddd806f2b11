//! The `published_files` manifest: the files each repository architecture serves, by name, and
//! the blob behind each. A published database replaces its architecture's live entries in one
//! transaction ([`switch`]), so a reader resolves every name against one database or the next,
//! never a mix; the names it drops stay resolvable until their grace period ends. Only what
//! changed is written ([`diff`]).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::blobs::Digest;
use crate::names::{ArchName, DistroName, FileName, RepoName};

/// A file a new database publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub filename: FileName,
    pub digest: Digest,
    pub size: i64,
}

/// What the live manifest says of a name, as a publish compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub digest: Digest,
    pub size: i64,
    pub retired: bool,
}

impl Current {
    /// Whether this name already serves `entry`'s content, live.
    pub fn serves(&self, entry: &Entry) -> bool {
        !self.retired && self.digest == entry.digest && self.size == entry.size
    }
}

/// The names of `repo_arch_id`'s manifest (live and retired). Only a publish changes them,
/// and publishes of one architecture are serialised (the regeneration lock), so they are not
/// locked: locking every row would write every row. For the same reason a publish may read
/// them on a connection of their own, beside its snapshot of the catalogue.
pub async fn current(
    executor: impl PgExecutor<'_>,
    repo_arch_id: i64,
) -> Result<HashMap<FileName, Current>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select filename as "filename: FileName", digest as "digest: Digest", size,
                  retired_until is not null as "retired!"
           from published_files where repo_arch_id = $1"#,
        repo_arch_id
    )
    .fetch_all(executor)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.filename,
                Current {
                    digest: r.digest,
                    size: r.size,
                    retired: r.retired,
                },
            )
        })
        .collect())
}

/// What making a listing live changes in a manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// Names that are new, changed or retired until now.
    pub upsert: Vec<Entry>,
    /// Live names the listing does not name.
    pub retire: Vec<FileName>,
}

/// Compares a complete listing with the manifest [`current`] read.
pub fn diff(current: &HashMap<FileName, Current>, listing: Vec<Entry>) -> Change {
    let listed: HashSet<&FileName> = listing.iter().map(|e| &e.filename).collect();
    let retire = current
        .iter()
        .filter(|(name, c)| !c.retired && !listed.contains(name))
        .map(|(name, _)| name.clone())
        .collect();
    drop(listed);
    let upsert = listing
        .into_iter()
        .filter(|e| current.get(&e.filename).is_none_or(|c| !c.serves(e)))
        .collect();
    Change { upsert, retire }
}

/// Makes a new database's files live in `repo_arch_id`, as [`diff`] found them to differ:
/// names it no longer lists stay served for `grace`; names it lists unchanged are not written
/// at all. A
/// name whose content changes gets a modification time at least a second after its previous
/// one (`Last-Modified` has whole seconds, and pacman revalidates its databases with
/// `If-Modified-Since` alone). Every entry's blob must be recorded
/// ([`crate::db::blobs::unrecorded`]). Returns how many names were retired.
pub async fn switch(
    conn: &mut PgConnection,
    repo_arch_id: i64,
    change: &Change,
    grace: Duration,
) -> Result<u64, sqlx::Error> {
    let Change { upsert, retire } = change;
    let mut retired = 0;
    if !retire.is_empty() {
        let retire: Vec<&str> = retire.iter().map(FileName::as_str).collect();
        retired = sqlx::query!(
            "update published_files set retired_until = now() + make_interval(secs => $3)
             where repo_arch_id = $1 and filename = any($2) and retired_until is null",
            repo_arch_id,
            &retire as &[&str],
            grace.as_secs_f64()
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    if !upsert.is_empty() {
        let names: Vec<&str> = upsert.iter().map(|e| e.filename.as_str()).collect();
        let digests: Vec<&str> = upsert.iter().map(|e| e.digest.as_str()).collect();
        let sizes: Vec<i64> = upsert.iter().map(|e| e.size).collect();
        sqlx::query!(
            "insert into published_files (repo_arch_id, filename, digest, size, modified_at)
             select $1, n.filename, n.digest, n.size, date_trunc('second', now())
             from unnest($2::text[], $3::text[], $4::bigint[]) as n(filename, digest, size)
             on conflict (repo_arch_id, filename) do update set
               digest = excluded.digest,
               size = excluded.size,
               retired_until = null,
               modified_at = case
                 when published_files.digest = excluded.digest then published_files.modified_at
                 else greatest(excluded.modified_at,
                               published_files.modified_at + interval '1 second')
               end",
            repo_arch_id,
            &names as &[&str],
            &digests as &[&str],
            &sizes
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(retired)
}

/// A file as `/{distro}/{repo}/{arch}/{filename}` serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedFile {
    pub digest: Digest,
    pub size: i64,
    pub modified_at: DateTime<Utc>,
    /// Set for a file the live database no longer names: served until then.
    pub retired_until: Option<DateTime<Utc>>,
}

impl PublishedFile {
    /// Whether it is still served at `now`.
    pub fn is_served_at(&self, now: DateTime<Utc>) -> bool {
        self.retired_until.is_none_or(|until| until > now)
    }
}

/// Looks a served file up by its names.
pub async fn find(
    executor: impl PgExecutor<'_>,
    distro: &DistroName,
    repo: &RepoName,
    arch: &ArchName,
    filename: &FileName,
) -> Result<Option<PublishedFile>, sqlx::Error> {
    sqlx::query_as!(
        PublishedFile,
        r#"select f.digest as "digest: Digest", f.size, f.modified_at, f.retired_until
           from published_files f
           join repo_arches ra on ra.id = f.repo_arch_id
           join repos r on r.id = ra.repo_id
           join distros d on d.id = r.distro_id
           where d.name = $1 and r.name = $2 and ra.arch = $3 and f.filename = $4"#,
        distro.as_str(),
        repo.as_str(),
        arch.as_str(),
        filename.as_str()
    )
    .fetch_optional(executor)
    .await
}

/// Forgets retired files whose grace period is over; their blobs become collectable.
pub async fn expire_retired(executor: impl PgExecutor<'_>) -> Result<u64, sqlx::Error> {
    let expired = sqlx::query!("delete from published_files where retired_until < now()")
        .execute(executor)
        .await?;
    Ok(expired.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(byte: u8) -> Digest {
        Digest::of(&[byte])
    }

    fn name(name: &str) -> FileName {
        FileName::parse(name).unwrap()
    }

    fn entry(name: &str, byte: u8) -> Entry {
        Entry {
            filename: self::name(name),
            digest: digest(byte),
            size: 1,
        }
    }

    fn current(byte: u8, retired: bool) -> Current {
        Current {
            digest: digest(byte),
            size: 1,
            retired,
        }
    }

    #[test]
    fn diff_writes_only_what_changed_and_retires_what_is_unlisted() {
        let live = HashMap::from([
            (name("same"), current(1, false)),
            (name("changed"), current(2, false)),
            (name("back"), current(3, true)),
            (name("gone"), current(4, false)),
            (name("long-gone"), current(5, true)),
        ]);
        let listing = vec![
            entry("same", 1),
            entry("changed", 9),
            entry("back", 3),
            entry("new", 6),
        ];
        let mut change = diff(&live, listing);
        change.upsert.sort_by(|a, b| a.filename.cmp(&b.filename));
        assert_eq!(
            change,
            Change {
                upsert: vec![entry("back", 3), entry("changed", 9), entry("new", 6)],
                retire: vec![name("gone")],
            }
        );
    }

    #[test]
    fn an_empty_listing_retires_every_live_name() {
        let live = HashMap::from([
            (name("a"), current(1, false)),
            (name("b"), current(2, true)),
        ]);
        assert_eq!(
            diff(&live, vec![]),
            Change {
                upsert: vec![],
                retire: vec![name("a")],
            }
        );
    }
}
