//! `rieter rm`: a package, or with `--recursive` an architecture, repository or distribution.

use anyhow::bail;

use super::Ctx;
use crate::api::answer;

pub async fn run(ctx: &Ctx, path: &str, recursive: bool) -> anyhow::Result<()> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if parts.iter().any(|p| p.is_empty()) || parts.len() > 4 {
        bail!("expected DISTRO/REPO/ARCH/NAME, got {path:?}");
    }
    if parts.len() < 4 && !recursive {
        bail!(
            "{path} is not a package (DISTRO/REPO/ARCH/NAME): pass --recursive to remove everything under it"
        );
    }
    let c = &ctx.client;
    match parts[..] {
        [distro, repo, arch, name] => {
            answer(c.remove_package(distro, repo, arch, name).await).await?
        }
        [distro, repo, arch] => answer(c.remove_arch(distro, repo, arch).await).await?,
        [distro, repo] => answer(c.remove_repo(distro, repo).await).await?,
        [distro] => answer(c.remove_distro(distro).await).await?,
        _ => unreachable!("checked above"),
    }
    ctx.out.done("removed", path, &format!("removed {path}"))
}
