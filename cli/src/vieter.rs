//! Reading Vieter's targets (the output of its `GET /api/v1/targets`, or the list inside it)
//! as Rieter targets. Vieter has no distributions and no target names: the distribution is
//! given, and a name is made from the PKGBUILD's directory or the repository's URL.

use serde::Deserialize;

use crate::api::types;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Document {
    Answer { data: Vec<VieterTarget> },
    List(Vec<VieterTarget>),
}

#[derive(Debug, Deserialize)]
pub struct VieterTarget {
    pub id: i64,
    pub kind: String,
    pub url: String,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    pub repo: String,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub arch: Vec<VieterArch>,
}

#[derive(Debug, Deserialize)]
pub struct VieterArch {
    pub value: String,
}

/// Vieter's targets in `json`.
pub fn parse(json: &str) -> anyhow::Result<Vec<VieterTarget>> {
    match serde_json::from_str(json)? {
        Document::Answer { data } | Document::List(data) => Ok(data),
    }
}

/// A Vieter schedule (`min hour [day [month]]`, missing fields `*`) as five cron fields; an
/// empty one is Vieter's default, `default`.
pub fn schedule(vieter: Option<&str>, default: &str) -> String {
    let fields: Vec<&str> = vieter.unwrap_or_default().split_whitespace().collect();
    if fields.is_empty() {
        return default.to_owned();
    }
    let mut cron: Vec<&str> = fields.into_iter().take(4).collect();
    while cron.len() < 5 {
        cron.push("*");
    }
    cron.join(" ")
}

/// A target name from the target's directory or repository: Rieter's name characters, the
/// rest as `-`.
pub fn name(target: &VieterTarget) -> String {
    let source = target
        .path
        .as_deref()
        .filter(|p| !p.trim_matches('/').is_empty())
        .unwrap_or(&target.url);
    let last = source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let last = last.strip_suffix(".git").unwrap_or(last);
    let name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.+@".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = name.trim_start_matches(['.', '-']);
    if name.is_empty() {
        format!("vieter-{}", target.id)
    } else {
        name.chars().take(90).collect()
    }
}

/// The Rieter target for a Vieter one.
pub fn target(
    t: &VieterTarget,
    distro: &str,
    default_schedule: &str,
) -> anyhow::Result<types::NewTarget> {
    let kind = t
        .kind
        .parse()
        .map_err(|_| anyhow::anyhow!("Vieter target {}: unknown kind {:?}", t.id, t.kind))?;
    let blank = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    Ok(types::NewTarget {
        name: name(t),
        kind,
        url: t.url.clone(),
        branch: blank(&t.branch),
        path: blank(&t.path),
        distro: distro.to_owned(),
        repo: t.repo.clone(),
        arches: t.arch.iter().map(|a| a.value.clone()).collect(),
        schedule: Some(schedule(t.schedule.as_deref(), default_schedule)),
        timeout_secs: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"{"message": "", "data": [
        {"id": 1, "kind": "git", "url": "https://aur.archlinux.org/paru-bin.git", "branch": "master",
         "path": "", "repo": "bur", "schedule": "", "arch": [{"id": 1, "target_id": 1, "value": "x86_64"}]},
        {"id": 2, "kind": "git", "url": "https://git.example.org/pkgs.git", "branch": "main",
         "path": "tools/my tool/", "repo": "bur", "schedule": "0 */6",
         "arch": [{"id": 2, "target_id": 2, "value": "x86_64"}, {"id": 3, "target_id": 2, "value": "aarch64"}]},
        {"id": 3, "kind": "url", "url": "https://example.org/x/PKGBUILD", "repo": "other", "arch": []}
    ]}"#;

    #[test]
    fn vieter_targets_become_rieter_targets() {
        let targets = parse(ANSWER).unwrap();
        assert_eq!(targets.len(), 3);
        let paru = target(&targets[0], "arch", "0 3 * * *").unwrap();
        assert_eq!(paru.name, "paru-bin");
        assert_eq!((paru.branch.as_deref(), paru.path), (Some("master"), None));
        assert_eq!(paru.schedule.as_deref(), Some("0 3 * * *"));
        assert_eq!(paru.distro, "arch");
        let tool = target(&targets[1], "arch", "0 3 * * *").unwrap();
        assert_eq!(tool.name, "my-tool");
        assert_eq!(tool.schedule.as_deref(), Some("0 */6 * * *"));
        assert_eq!(tool.arches, ["x86_64", "aarch64"]);
        assert_eq!(name(&targets[2]), "PKGBUILD");
        assert!(parse("[]").unwrap().is_empty());
        assert!(parse(r#"{"nope": 1}"#).is_err());
    }

    #[test]
    fn short_schedules_are_padded() {
        assert_eq!(schedule(Some("15 2 1"), "d"), "15 2 1 * *");
        assert_eq!(schedule(Some("  "), "0 3 * * *"), "0 3 * * *");
        assert_eq!(schedule(None, "0 3 * * *"), "0 3 * * *");
    }
}
