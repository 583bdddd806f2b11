//! `rieter targets`: build targets.

use anyhow::anyhow;
use progenitor_client::ClientInfo;

use super::{Ctx, Paging, split_repo};
use crate::api::{Refusal, answer, types};
use crate::args::TargetsCommand;
use crate::output::{fields, or_dash, page_table};
use crate::vieter;

pub async fn run(ctx: &Ctx, command: TargetsCommand) -> anyhow::Result<()> {
    let c = &ctx.client;
    let target = match command {
        TargetsCommand::Create {
            name,
            target,
            kind,
            source,
            branch,
            path,
            arches,
            schedule,
            timeout_secs,
        } => {
            let (distro, repo) = split_repo(&target)?;
            let body = types::NewTarget {
                name,
                kind: kind
                    .parse()
                    .map_err(|_| anyhow!("no target kind {kind:?}; use git or url"))?,
                url: source,
                branch,
                path,
                distro: distro.to_owned(),
                repo: repo.to_owned(),
                arches,
                schedule,
                timeout_secs,
            };
            answer(c.create_target(&body).await).await?
        }
        TargetsCommand::Ls { page } => {
            let p = Paging::of(&page);
            let list = answer(c.list_targets(p.page.as_ref(), p.per_page.as_ref()).await).await?;
            return ctx.out.either(&list, |list| {
                page_table(
                    &["ID", "NAME", "REPOSITORY", "ARCHES", "SCHEDULE", "NEXT RUN"],
                    &list.items,
                    |t| {
                        vec![
                            t.id.to_string(),
                            t.name.clone(),
                            format!("{}/{}", t.distro, t.repo),
                            t.arches.join(","),
                            or_dash(t.schedule.as_ref()),
                            or_dash(
                                t.next_run_at
                                    .map(|n| n.format("%Y-%m-%d %H:%M").to_string()),
                            ),
                        ]
                    },
                    (list.page, list.per_page, list.total),
                );
            });
        }
        TargetsCommand::Show { id } => answer(c.get_target(id).await).await?,
        TargetsCommand::Update {
            id,
            name,
            source,
            branch,
            path,
            publish_to,
            arches,
            schedule,
            no_schedule,
            timeout_secs,
        } => {
            let (distro, repo) = match publish_to.as_deref().map(split_repo).transpose()? {
                Some((d, r)) => (Some(d.to_owned()), Some(r.to_owned())),
                None => (None, None),
            };
            let change = types::TargetChangeView {
                name,
                kind: None,
                url: source,
                branch,
                path,
                distro,
                repo,
                arches,
                schedule,
                timeout_secs,
            };
            update(ctx, id, &change, no_schedule).await?
        }
        TargetsCommand::ImportVieter {
            file,
            distro,
            default_schedule,
            dry_run,
        } => return import_vieter(ctx, &file, &distro, &default_schedule, dry_run).await,
        TargetsCommand::Rm { id } => {
            answer(c.delete_target(id).await).await?;
            return ctx.out.done("deleted", id, &format!("deleted target {id}"));
        }
    };
    ctx.out.either(&target, |t| fields(&target_fields(t)))
}

/// What became of one Vieter target.
#[derive(Debug, serde::Serialize)]
struct Imported {
    vieter_id: i64,
    name: String,
    /// `created`, `would create` (--dry-run) or `failed`.
    outcome: &'static str,
    id: Option<i64>,
    error: Option<String>,
}

async fn import_vieter(
    ctx: &Ctx,
    file: &std::path::Path,
    distro: &str,
    default_schedule: &str,
    dry_run: bool,
) -> anyhow::Result<()> {
    let json = if file == std::path::Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(file).map_err(|e| anyhow!("reading {}: {e}", file.display()))?
    };
    let targets = vieter::parse(&json).map_err(|e| anyhow!("not Vieter's targets: {e}"))?;
    let mut results = Vec::new();
    for t in &targets {
        let mut result = Imported {
            vieter_id: t.id,
            name: vieter::name(t),
            outcome: "failed",
            id: None,
            error: None,
        };
        match vieter::target(t, distro, default_schedule) {
            Err(e) => result.error = Some(e.to_string()),
            Ok(_) if dry_run => result.outcome = "would create",
            Ok(mut body) => {
                let mut created = answer(ctx.client.create_target(&body).await).await;
                // Two Vieter targets may share a directory name: the second gets its id.
                if matches!(&created, Err(e) if e.downcast_ref::<Refusal>().is_some_and(|r| r.status == 409))
                {
                    body.name = format!("{}-{}", body.name, t.id);
                    created = answer(ctx.client.create_target(&body).await).await;
                }
                match created {
                    Ok(target) => {
                        result.outcome = "created";
                        result.id = Some(target.id);
                        result.name = target.name;
                    }
                    Err(e) => result.error = Some(format!("{e:#}")),
                }
            }
        }
        if !ctx.out.json {
            let detail = result
                .error
                .clone()
                .or(result.id.map(|id| format!("target {id}")));
            println!(
                "{:<12}  vieter {:<5}  {}  {}",
                result.outcome,
                result.vieter_id,
                result.name,
                detail.unwrap_or_default()
            );
        }
        results.push(result);
    }
    if ctx.out.json {
        ctx.out.json(&results)?;
    }
    let failed = results.iter().filter(|r| r.outcome == "failed").count();
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} Vieter targets were not imported",
            results.len()
        );
    }
    Ok(())
}

/// Sends a change. Removing the schedule takes an explicit `"schedule": null`, which the
/// generated client leaves out with every unset field, so that one goes as plain JSON.
async fn update(
    ctx: &Ctx,
    id: i64,
    change: &types::TargetChangeView,
    no_schedule: bool,
) -> anyhow::Result<types::Target> {
    if !no_schedule {
        return answer(ctx.client.update_target(id, change).await).await;
    }
    let mut body = serde_json::to_value(change)?;
    body["schedule"] = serde_json::Value::Null;
    let url = format!("{}/api/v1/targets/{id}", ctx.client.baseurl());
    let response = ctx
        .client
        .client()
        .patch(url)
        .json(&body)
        .send()
        .await
        .map_err(|e| anyhow!("could not reach the server: {e}"))?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if status.is_success() {
        Ok(serde_json::from_slice(&bytes)?)
    } else {
        Err(Refusal::read(status, &bytes).into())
    }
}

fn target_fields(t: &types::Target) -> Vec<(&'static str, String)> {
    vec![
        ("id", t.id.to_string()),
        ("name", t.name.clone()),
        ("kind", t.kind.to_string()),
        ("url", t.url.clone()),
        ("branch", or_dash(t.branch.as_ref())),
        ("path", or_dash(t.path.as_ref())),
        ("repository", format!("{}/{}", t.distro, t.repo)),
        ("architectures", t.arches.join(", ")),
        ("schedule", or_dash(t.schedule.as_ref())),
        ("next run", or_dash(t.next_run_at.map(|n| n.to_rfc3339()))),
        ("timeout", format!("{} s", t.timeout_secs)),
    ]
}
