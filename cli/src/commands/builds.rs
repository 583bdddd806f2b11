//! `rieter builds`: queue, list, show and cancel builds, and print their logs.

use anyhow::anyhow;

use super::{Ctx, Paging};
use crate::api::{answer, types};
use crate::args::BuildsCommand;
use crate::output::{fields, or_dash, page_table};

pub async fn run(ctx: &Ctx, command: BuildsCommand) -> anyhow::Result<()> {
    let c = &ctx.client;
    let build = match command {
        BuildsCommand::Run {
            target_id,
            arch,
            force,
        } => {
            let body = types::NewBuild { arch, force };
            answer(c.request_build(target_id, &body).await).await?
        }
        BuildsCommand::Ls {
            target,
            status,
            arch,
            page,
        } => {
            let status = status
                .map(|s| {
                    s.parse::<types::BuildStatus>()
                        .map_err(|_| anyhow!("no build status {s:?}"))
                })
                .transpose()?;
            let p = Paging::of(&page);
            let list = answer(
                c.list_builds(
                    arch.as_deref(),
                    p.page.as_ref(),
                    p.per_page.as_ref(),
                    status,
                    target,
                )
                .await,
            )
            .await?;
            return ctx.out.either(&list, |list| {
                page_table(
                    &["ID", "TARGET", "ARCH", "STATUS", "QUEUED", "AGENT", "ERROR"],
                    &list.items,
                    |b| {
                        vec![
                            b.id.to_string(),
                            b.target.clone(),
                            b.arch.clone(),
                            b.status.to_string(),
                            b.queued_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            or_dash(b.agent.as_ref()),
                            or_dash(b.error.as_ref()),
                        ]
                    },
                    (list.page, list.per_page, list.total),
                );
            });
        }
        BuildsCommand::Show { id } => answer(c.get_build(id).await).await?,
        BuildsCommand::Cancel { id } => answer(c.cancel_build(id).await).await?,
        BuildsCommand::Log { id, follow } => {
            let log = answer(c.get_build_log(id, Some(follow)).await).await?;
            return print_stream(log).await;
        }
    };
    ctx.out.either(&build, |b| {
        fields(&[
            ("id", b.id.to_string()),
            ("target", format!("{} ({})", b.target, b.target_id)),
            ("repository", format!("{}/{}", b.distro, b.repo)),
            ("arch", b.arch.clone()),
            ("status", b.status.to_string()),
            ("force", b.force.to_string()),
            ("queued", b.queued_at.to_rfc3339()),
            ("started", or_dash(b.started_at.map(|t| t.to_rfc3339()))),
            ("finished", or_dash(b.finished_at.map(|t| t.to_rfc3339()))),
            ("agent", or_dash(b.agent.as_ref())),
            ("attempts", b.attempts.to_string()),
            ("cancel requested", b.cancel_requested.to_string()),
            ("error", or_dash(b.error.as_ref())),
        ]);
    })
}

/// Copies a log to standard output as it arrives (a followed log arrives over minutes).
async fn print_stream(log: progenitor_client::ByteStream) -> anyhow::Result<()> {
    use futures::TryStreamExt;
    use tokio::io::AsyncWriteExt;
    let mut inner = log.into_inner();
    let mut stdout = tokio::io::stdout();
    while let Some(chunk) = inner.try_next().await? {
        stdout.write_all(&chunk).await?;
        stdout.flush().await?;
    }
    Ok(())
}
