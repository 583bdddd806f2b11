//! Administration: API keys, mirrors, signing keys, packager keys, repository settings and
//! metrics.

use anyhow::{Context, anyhow, bail};

use super::{Ctx, Paging, collect, split_repo};
use crate::api::{answer, types};
use crate::args::{
    KeysCommand, MirrorOptions, MirrorsCommand, PackagerKeysCommand, RepoSettingsCommand,
    SigningKeyCommand,
};
use crate::output::{fields, or_dash, page_table, table};

pub async fn keys(ctx: &Ctx, command: KeysCommand) -> anyhow::Result<()> {
    let c = &ctx.client;
    match command {
        KeysCommand::Create { name, scopes } => {
            let body = types::NewKey {
                name: name.parse().map_err(|e| anyhow!("the key's name: {e}"))?,
                scopes: scopes
                    .iter()
                    .map(|s| parse_scope(s))
                    .collect::<anyhow::Result<_>>()?,
            };
            let key = answer(c.create_key(&body).await).await?;
            ctx.out.either(&key, |k| {
                fields(&[
                    ("id", k.id.to_string()),
                    ("name", k.name.clone()),
                    ("scopes", scopes_text(&k.scopes)),
                    ("secret", k.secret.clone()),
                ]);
                eprintln!("the secret is shown only now: keep it");
            })
        }
        KeysCommand::Ls { page } => {
            let p = Paging::of(&page);
            let list = answer(c.list_keys(p.page.as_ref(), p.per_page.as_ref()).await).await?;
            ctx.out.either(&list, |list| {
                page_table(
                    &["ID", "NAME", "PREFIX", "SCOPES"],
                    &list.items,
                    |k| {
                        vec![
                            k.id.to_string(),
                            k.name.clone(),
                            k.prefix.clone(),
                            scopes_text(&k.scopes),
                        ]
                    },
                    (list.page, list.per_page, list.total),
                );
            })
        }
        KeysCommand::Show { id } => {
            let key = answer(c.get_key(&id).await).await?;
            ctx.out.either(&key, |k| {
                fields(&[
                    ("id", k.id.to_string()),
                    ("name", k.name.clone()),
                    ("prefix", k.prefix.clone()),
                    ("scopes", scopes_text(&k.scopes)),
                    ("created", k.created_at.to_rfc3339()),
                ]);
            })
        }
        KeysCommand::Revoke { id } => {
            answer(c.delete_key(&id).await).await?;
            ctx.out.done("revoked", id, &format!("revoked key {id}"))
        }
    }
}

/// `PERMISSION[:DISTRO[/REPO]]`.
fn parse_scope(text: &str) -> anyhow::Result<types::KeyScope> {
    let (permission, place) = match text.split_once(':') {
        Some((p, place)) => (p, Some(place)),
        None => (text, None),
    };
    let permission = permission
        .parse::<types::Permission>()
        .map_err(|_| anyhow!("no permission {permission:?} in the scope {text:?}"))?;
    let (distro, repo) = match place.map(|p| p.split_once('/')) {
        None => (None, None),
        Some(None) => (place.map(str::to_owned), None),
        Some(Some((d, r))) => (Some(d.to_owned()), Some(r.to_owned())),
    };
    Ok(types::KeyScope {
        permission,
        distro,
        repo,
    })
}

fn scopes_text(scopes: &[types::KeyScope]) -> String {
    let texts: Vec<String> = scopes
        .iter()
        .map(|s| match (&s.distro, &s.repo) {
            (Some(d), Some(r)) => format!("{}:{d}/{r}", s.permission),
            (Some(d), None) => format!("{}:{d}", s.permission),
            _ => s.permission.to_string(),
        })
        .collect();
    texts.join(" ")
}

pub async fn mirrors(ctx: &Ctx, command: MirrorsCommand) -> anyhow::Result<()> {
    let c = &ctx.client;
    let mirror = match command {
        MirrorsCommand::Create {
            target,
            upstream,
            arches,
            interval_secs,
            options,
        } => {
            let (distro, repo) = split_repo(&target)?;
            let body = types::NewMirrorView {
                distro: distro.to_owned(),
                repo: repo.to_owned(),
                upstream,
                arches,
                interval_secs,
                bandwidth_limit_bytes_per_sec: options.bandwidth_limit,
                max_concurrent_downloads: options.max_concurrent_downloads,
                keep_signatures: options.keep_signatures,
                verify_signatures: keyring(&options)?,
            };
            answer(c.create_mirror(&body).await).await?
        }
        MirrorsCommand::Ls { page } => {
            let p = Paging::of(&page);
            let list = answer(c.list_mirrors(p.page.as_ref(), p.per_page.as_ref()).await).await?;
            return ctx.out.either(&list, |list| {
                page_table(
                    &["ID", "REPOSITORY", "UPSTREAM", "LAST SYNC", "NEXT SYNC"],
                    &list.items,
                    mirror_row,
                    (list.page, list.per_page, list.total),
                );
            });
        }
        MirrorsCommand::Show { id } => answer(c.get_mirror(id).await).await?,
        MirrorsCommand::Update {
            id,
            upstream,
            arches,
            interval_secs,
            options,
        } => {
            let body = types::MirrorChangeView {
                upstream,
                arches,
                interval_secs,
                bandwidth_limit_bytes_per_sec: options.bandwidth_limit,
                max_concurrent_downloads: options.max_concurrent_downloads,
                keep_signatures: options.keep_signatures,
                verify_signatures: keyring(&options)?,
            };
            answer(c.update_mirror(id, &body).await).await?
        }
        MirrorsCommand::Rm { id } => {
            answer(c.delete_mirror(id).await).await?;
            return ctx.out.done("deleted", id, &format!("deleted mirror {id}"));
        }
        MirrorsCommand::Sync { id } => answer(c.sync_mirror(id).await).await?,
    };
    ctx.out.either(&mirror, |m| fields(&mirror_fields(m)))
}

fn keyring(options: &MirrorOptions) -> anyhow::Result<Option<String>> {
    options
        .verify_signatures
        .as_ref()
        .map(|path| {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
        })
        .transpose()
}

fn last_sync(m: &types::Mirror) -> String {
    or_dash(m.last_sync.as_ref().map(|s| {
        let when = s
            .finished_at
            .unwrap_or(s.started_at)
            .format("%Y-%m-%d %H:%M:%S");
        match &s.error {
            Some(error) => format!("{} {when}: {error}", s.status),
            None => format!("{} {when}", s.status),
        }
    }))
}

fn mirror_row(m: &types::Mirror) -> Vec<String> {
    vec![
        m.id.to_string(),
        format!("{}/{}", m.distro, m.repo),
        m.upstream.clone(),
        last_sync(m),
        m.next_sync_at.format("%Y-%m-%d %H:%M:%S").to_string(),
    ]
}

fn mirror_fields(m: &types::Mirror) -> Vec<(&'static str, String)> {
    vec![
        ("id", m.id.to_string()),
        ("repository", format!("{}/{}", m.distro, m.repo)),
        ("upstream", m.upstream.clone()),
        ("architectures", m.arches.join(", ")),
        ("interval", format!("{} s", m.interval_secs)),
        ("last sync", last_sync(m)),
        (
            "last success",
            or_dash(m.last_success_at.map(|t| t.to_rfc3339())),
        ),
        ("next sync", m.next_sync_at.to_rfc3339()),
        ("sync pending", m.sync_pending.to_string()),
    ]
}

pub async fn signing_key(ctx: &Ctx, command: SigningKeyCommand) -> anyhow::Result<()> {
    let c = &ctx.client;
    let key = match command {
        SigningKeyCommand::Create { distro, import } => {
            let import = import
                .map(|p| {
                    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
                })
                .transpose()?;
            answer(
                c.create_signing_key(&distro, &types::NewSigningKey { import })
                    .await,
            )
            .await?
        }
        SigningKeyCommand::Show { distro } => answer(c.get_signing_key(&distro).await).await?,
        SigningKeyCommand::Rm { distro } => {
            answer(c.delete_signing_key(&distro).await).await?;
            return ctx.out.done(
                "deleted",
                &distro,
                &format!("deleted the signing key of {distro}"),
            );
        }
        SigningKeyCommand::Export { distro } => {
            let stream = answer(c.get_public_key(&distro).await).await?;
            let bytes = collect(stream).await?;
            let armored = String::from_utf8(bytes).map_err(|_| anyhow!("the key is not text"))?;
            return ctx
                .out
                .either(&serde_json::json!({ "public_key": armored }), |_| {
                    print!("{armored}")
                });
        }
    };
    ctx.out.either(&key, |k| {
        fields(&[
            ("fingerprint", k.fingerprint.clone()),
            ("created", k.created_at.to_rfc3339()),
        ]);
    })
}

pub async fn packager_keys(ctx: &Ctx, command: PackagerKeysCommand) -> anyhow::Result<()> {
    let c = &ctx.client;
    let list = match command {
        PackagerKeysCommand::Set { distro, file } => {
            let keyring =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            answer(c.set_packager_keys(&distro, keyring).await).await?
        }
        PackagerKeysCommand::Ls { distro } => answer(c.list_packager_keys(&distro).await).await?,
        PackagerKeysCommand::Rm { distro } => {
            answer(c.delete_packager_keys(&distro).await).await?;
            return ctx.out.done(
                "deleted",
                &distro,
                &format!("removed the packager keys of {distro}"),
            );
        }
    };
    ctx.out.either(&list, |list| {
        let rows: Vec<Vec<String>> = list
            .items
            .iter()
            .map(|k| vec![k.fingerprint.clone(), k.added_at.to_rfc3339()])
            .collect();
        table(&["FINGERPRINT", "ADDED"], &rows);
    })
}

pub async fn repo_settings(ctx: &Ctx, command: RepoSettingsCommand) -> anyhow::Result<()> {
    let c = &ctx.client;
    let settings = match command {
        RepoSettingsCommand::Show { target } => {
            let (distro, repo) = split_repo(&target)?;
            answer(c.get_repo_settings(distro, repo).await).await?
        }
        RepoSettingsCommand::Set {
            target,
            sign_packages,
        } => {
            let (distro, repo) = split_repo(&target)?;
            let body = types::RepoSettings { sign_packages };
            answer(c.set_repo_settings(distro, repo, &body).await).await?
        }
    };
    ctx.out.either(&settings, |s| {
        fields(&[("sign packages", s.sign_packages.to_string())])
    })
}

pub async fn metrics(ctx: &Ctx) -> anyhow::Result<()> {
    if ctx.out.json {
        bail!("metrics are Prometheus text; --json does not apply");
    }
    let stream = answer(ctx.client.metrics().await).await?;
    let bytes = collect(stream).await?;
    print!("{}", String::from_utf8_lossy(&bytes));
    Ok(())
}
