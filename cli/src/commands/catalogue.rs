//! Reading the catalogue: uploads, packages, their files, distributions and repositories.

use anyhow::{anyhow, bail};

use super::{Ctx, Paging};
use crate::api::{answer, types};
use crate::args::PageArgs;
use crate::output::{fields, or_dash, page_note, page_table, table};

pub async fn status(ctx: &Ctx, id: uuid::Uuid) -> anyhow::Result<()> {
    let upload = answer(ctx.client.get_upload(&id).await).await?;
    ctx.out.either(&upload, |u| fields(&upload_fields(u)))
}

fn upload_fields(u: &types::Upload) -> Vec<(&'static str, String)> {
    let package = u.package.as_ref().map(|p| {
        format!(
            "{} {} ({}) in {}/{}",
            p.name, p.version, p.arch, p.distro, p.repo
        )
    });
    vec![
        ("id", u.id.to_string()),
        ("status", u.status.to_string()),
        ("repository", format!("{}/{}", u.distro, u.repo)),
        ("package", or_dash(package)),
        ("size", u.size.to_string()),
        ("error", or_dash(u.error.as_ref())),
        (
            "uploaded by",
            or_dash(u.uploaded_by.as_ref().map(|a| a.name.clone())),
        ),
        ("created", u.created_at.to_rfc3339()),
        ("updated", u.updated_at.to_rfc3339()),
    ]
}

pub async fn uploads(ctx: &Ctx, status: Option<&str>, page: &PageArgs) -> anyhow::Result<()> {
    let status = status
        .map(|s| {
            s.parse::<types::UploadStatus>()
                .map_err(|_| anyhow!("no upload status {s:?}"))
        })
        .transpose()?;
    let p = Paging::of(page);
    let list = answer(
        ctx.client
            .list_uploads(p.page.as_ref(), p.per_page.as_ref(), status)
            .await,
    )
    .await?;
    ctx.out.either(&list, |list| {
        page_table(
            &["ID", "STATUS", "REPOSITORY", "PACKAGE", "CREATED", "ERROR"],
            &list.items,
            |u| {
                vec![
                    u.id.to_string(),
                    u.status.to_string(),
                    format!("{}/{}", u.distro, u.repo),
                    or_dash(
                        u.package
                            .as_ref()
                            .map(|p| format!("{} {}", p.name, p.version)),
                    ),
                    u.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    or_dash(u.error.as_ref()),
                ]
            },
            (list.page, list.per_page, list.total),
        );
    })
}

/// Where to look for packages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub distro: Option<&'a str>,
    pub repo: Option<&'a str>,
    pub arch: Option<&'a str>,
}

pub async fn search(
    ctx: &Ctx,
    term: &str,
    filter: Filter<'_>,
    page: &PageArgs,
) -> anyhow::Result<()> {
    let found = list_packages(ctx, filter, None, Some(term), page).await?;
    ctx.out.either(&found, |found| {
        print_summaries(&found.items);
        page_note(found.page, found.per_page, found.total);
    })
}

async fn list_packages(
    ctx: &Ctx,
    filter: Filter<'_>,
    name: Option<&str>,
    term: Option<&str>,
    page: &PageArgs,
) -> anyhow::Result<types::PackagePage> {
    fn param<T: std::str::FromStr>(value: Option<&str>, what: &str) -> anyhow::Result<Option<T>> {
        value
            .map(|v| v.parse().map_err(|_| anyhow!("{v:?} is not {what}")))
            .transpose()
    }
    let arch: Option<types::ListPackagesArch> = param(filter.arch, "an architecture name")?;
    let distro: Option<types::ListPackagesDistro> = param(filter.distro, "a distribution name")?;
    let repo: Option<types::ListPackagesRepo> = param(filter.repo, "a repository name")?;
    let name: Option<types::ListPackagesName> = param(name, "a package name")?;
    let q: Option<types::ListPackagesQ> = param(term, "a search term")?;
    let p = Paging::of(page);
    let sort = term.map(|_| types::PackageSort::Relevance);
    answer(
        ctx.client
            .list_packages(
                arch.as_ref(),
                distro.as_ref(),
                name.as_ref(),
                None,
                p.page.as_ref(),
                p.per_page.as_ref(),
                q.as_ref(),
                repo.as_ref(),
                sort,
            )
            .await,
    )
    .await
}

fn print_summaries(items: &[types::PackageSummary]) {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|p| {
            vec![
                p.id.to_string(),
                p.name.clone(),
                p.version.clone(),
                format!("{}/{}/{}", p.distro, p.repo, p.arch),
                or_dash(p.description.as_ref()),
            ]
        })
        .collect();
    table(
        &["ID", "NAME", "VERSION", "REPOSITORY", "DESCRIPTION"],
        &rows,
    );
}

/// The ids a package argument stands for: itself when it is a number, else every package of
/// that name.
async fn package_ids(ctx: &Ctx, package: &str) -> anyhow::Result<Vec<i64>> {
    if let Ok(id) = package.parse::<i64>() {
        return Ok(vec![id]);
    }
    let page = PageArgs {
        page: 1,
        per_page: 200,
    };
    let found = list_packages(ctx, Filter::default(), Some(package), None, &page).await?;
    if found.items.is_empty() {
        bail!("no package named {package:?}");
    }
    Ok(found.items.iter().map(|p| p.id).collect())
}

pub async fn info(ctx: &Ctx, package: &str) -> anyhow::Result<()> {
    let mut packages = Vec::new();
    for id in package_ids(ctx, package).await? {
        packages.push(answer(ctx.client.get_package(id).await).await?);
    }
    ctx.out.either(&packages, |packages| {
        for (i, p) in packages.iter().enumerate() {
            if i > 0 {
                println!();
            }
            fields(&package_fields(p));
        }
    })
}

fn package_fields(p: &types::Package) -> Vec<(&'static str, String)> {
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join("  ")
        }
    };
    vec![
        ("id", p.id.to_string()),
        ("name", p.name.clone()),
        ("version", p.version.clone()),
        ("repository", format!("{}/{}/{}", p.distro, p.repo, p.arch)),
        ("description", or_dash(p.description.as_ref())),
        ("url", or_dash(p.url.as_ref())),
        ("licenses", list(&p.licenses)),
        ("depends", list(&p.depends)),
        ("makedepends", list(&p.makedepends)),
        (
            "optdepends",
            list(
                &p.optdepends
                    .iter()
                    .map(|o| match &o.description {
                        Some(why) => format!("{}: {why}", o.name),
                        None => o.name.clone(),
                    })
                    .collect::<Vec<_>>(),
            ),
        ),
        ("provides", list(&p.provides)),
        ("conflicts", list(&p.conflicts)),
        ("replaces", list(&p.replaces)),
        ("packager", or_dash(p.packager.as_ref())),
        ("build date", p.build_date.to_rfc3339()),
        (
            "size",
            format!("{} (installed {})", p.compressed_size, p.installed_size),
        ),
        ("file", p.filename.clone()),
        ("downloads", list(&p.downloads)),
    ]
}

pub async fn files(ctx: &Ctx, package: &str) -> anyhow::Result<()> {
    let ids = package_ids(ctx, package).await?;
    let [id] = ids[..] else {
        bail!(
            "{} packages are named {package:?} (ids {}): name one by id",
            ids.len(),
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let mut all = Vec::new();
    for page in 1.. {
        let p = Paging::new(page, 200);
        let got = answer(
            ctx.client
                .list_package_files(id, p.page.as_ref(), p.per_page.as_ref())
                .await,
        )
        .await?;
        let done = got.items.is_empty() || page.saturating_mul(200) >= got.total.max(0) as u64;
        all.extend(got.items);
        if done {
            break;
        }
    }
    ctx.out.either(&all, |all| {
        for path in all {
            println!("{path}");
        }
    })
}

pub async fn ls(ctx: &Ctx, path: Option<&str>, page: &PageArgs) -> anyhow::Result<()> {
    let p = Paging::of(page);
    let parts: Vec<&str> = path
        .map(|p| p.trim_matches('/').split('/').collect())
        .unwrap_or_default();
    match parts[..] {
        [] | [""] => {
            let list = answer(
                ctx.client
                    .list_distros(p.page.as_ref(), p.per_page.as_ref())
                    .await,
            )
            .await?;
            ctx.out.either(&list, |list| {
                page_table(
                    &["DISTRIBUTION", "REPOSITORIES", "PACKAGES"],
                    &list.items,
                    |d| {
                        vec![
                            d.name.clone(),
                            d.repo_count.to_string(),
                            d.package_count.to_string(),
                        ]
                    },
                    (list.page, list.per_page, list.total),
                );
            })
        }
        [distro] => {
            let list = answer(
                ctx.client
                    .list_repos(distro, p.page.as_ref(), p.per_page.as_ref())
                    .await,
            )
            .await?;
            ctx.out.either(&list, |list| {
                page_table(
                    &["REPOSITORY", "ARCHITECTURES", "PACKAGES"],
                    &list.items,
                    |r| {
                        vec![
                            r.name.clone(),
                            r.arches.join(","),
                            r.package_count.to_string(),
                        ]
                    },
                    (list.page, list.per_page, list.total),
                );
            })
        }
        [distro, repo] => {
            let found = answer(ctx.client.get_repo(distro, repo).await).await?;
            ctx.out.either(&found, |r| {
                fields(&[
                    ("repository", format!("{}/{}", r.distro, r.name)),
                    (
                        "architectures",
                        r.arches
                            .iter()
                            .map(|a| a.arch.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    ("packages", r.package_count.to_string()),
                    ("created", r.created_at.to_rfc3339()),
                ]);
            })
        }
        _ => bail!("expected nothing, DISTRO or DISTRO/REPO"),
    }
}
