//! One module a group of subcommands; each is a thin caller of the generated client.

mod admin;
mod builds;
mod catalogue;
mod publish;
mod remove;
mod targets;

use std::process::ExitCode;

use anyhow::bail;
use clap::CommandFactory;

use crate::api::{self, Client, types};
use crate::args::{Cli, Command};
use crate::config::{self, Choice};
use crate::output::Output;

/// What every command needs: the client and how to print.
pub struct Ctx {
    pub client: Client,
    pub out: Output,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = Output {
        json: cli.global.json,
    };
    // The two that need no server.
    match &cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "rieter",
                &mut std::io::stdout(),
            );
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let g = &cli.global;
    let server = config::resolve(&Choice {
        url: g.url.as_deref(),
        api_key: g.api_key.as_deref(),
        server: g.server.as_deref(),
        config: g.config.as_deref(),
    })?;
    let ctx = Ctx {
        client: api::connect(&server)?,
        out,
    };
    match cli.command {
        Command::Publish {
            target,
            files,
            sig,
            wait,
            allow_downgrade,
            overwrite,
        } => {
            let args = publish::Publish {
                target: &target,
                files: &files,
                sig,
                wait,
                allow_downgrade,
                overwrite,
            };
            return publish::run(&ctx, args).await;
        }
        Command::Status { upload_id } => catalogue::status(&ctx, upload_id).await?,
        Command::Uploads { status, page } => {
            catalogue::uploads(&ctx, status.as_deref(), &page).await?
        }
        Command::Search {
            term,
            distro,
            repo,
            arch,
            page,
        } => {
            let filter = catalogue::Filter {
                distro: distro.as_deref(),
                repo: repo.as_deref(),
                arch: arch.as_deref(),
            };
            catalogue::search(&ctx, &term, filter, &page).await?
        }
        Command::Info { package } => catalogue::info(&ctx, &package).await?,
        Command::Files { package } => catalogue::files(&ctx, &package).await?,
        Command::Ls { path, page } => catalogue::ls(&ctx, path.as_deref(), &page).await?,
        Command::Rm { path, recursive } => remove::run(&ctx, &path, recursive).await?,
        Command::Keys(command) => admin::keys(&ctx, command).await?,
        Command::Mirrors(command) => admin::mirrors(&ctx, command).await?,
        Command::SigningKey(command) => admin::signing_key(&ctx, command).await?,
        Command::PackagerKeys(command) => admin::packager_keys(&ctx, command).await?,
        Command::RepoSettings(command) => admin::repo_settings(&ctx, command).await?,
        Command::Targets(command) => targets::run(&ctx, command).await?,
        Command::Builds(command) => builds::run(&ctx, command).await?,
        Command::Metrics => admin::metrics(&ctx).await?,
        Command::Completions { .. } | Command::Man => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `DISTRO/REPO`.
pub fn split_repo(target: &str) -> anyhow::Result<(&str, &str)> {
    match target.split('/').collect::<Vec<_>>()[..] {
        [distro, repo] if !distro.is_empty() && !repo.is_empty() => Ok((distro, repo)),
        _ => bail!("expected DISTRO/REPO, got {target:?}"),
    }
}

/// A page of a listing as the client takes it.
struct Paging {
    page: Option<types::PageNumber>,
    per_page: Option<types::PerPage>,
}

impl Paging {
    fn of(args: &crate::args::PageArgs) -> Self {
        Self::new(args.page, args.per_page)
    }

    fn new(page: u64, per_page: u64) -> Self {
        Self {
            page: std::num::NonZeroU64::new(page).map(types::PageNumber),
            per_page: std::num::NonZeroU64::new(per_page).map(types::PerPage),
        }
    }
}

/// A whole response body.
async fn collect(stream: progenitor_client::ByteStream) -> anyhow::Result<Vec<u8>> {
    use futures::TryStreamExt;
    let mut inner = stream.into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = inner.try_next().await? {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}
