//! The command line, declared once: parsing, `--help`, the shell completions and the man page
//! all come from these definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Publish packages to a Rieter server and manage what it keeps.
#[derive(Debug, Parser)]
#[command(name = "rieter", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The server's base URL, e.g. https://repo.example.com.
    #[arg(long, global = true, env = "RIETER_URL")]
    pub url: Option<String>,
    /// The API key (sent as `Authorization: Bearer`).
    #[arg(long, global = true, env = "RIETER_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// A server named in the configuration file (its `default` otherwise).
    #[arg(long, short = 's', global = true, env = "RIETER_SERVER")]
    pub server: Option<String>,
    /// The configuration file [default: ~/.config/rieter/config.toml].
    #[arg(long, global = true, env = "RIETER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print JSON (one document per command) instead of tables, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload package files to a repository (DISTRO/REPO) and print each outcome.
    ///
    /// Exits 0 when every upload was accepted (with --wait: published), 1 when any was
    /// refused or failed, 3 when --wait ran out before an upload was final.
    Publish {
        /// The repository, as DISTRO/REPO.
        target: String,
        /// The package files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Send each FILE.sig, the package's detached signature, with it.
        #[arg(long)]
        sig: bool,
        /// Wait up to SECONDS (`--wait=60`; 300 when bare) until each upload is published or
        /// failed.
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, require_equals = true, default_missing_value = "300",
              value_parser = clap::value_parser!(u32).range(1..=300))]
        wait: Option<u32>,
        /// Accept a version older than the current one.
        #[arg(long)]
        allow_downgrade: bool,
        /// Replace the current package of the same version with different content.
        #[arg(long)]
        overwrite: bool,
    },
    /// Show an upload.
    Status {
        /// The upload's id, as `publish` printed it.
        upload_id: uuid::Uuid,
    },
    /// List uploads, newest first.
    Uploads {
        /// Only uploads in this status (queued, processing, parsed, published, failed).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Search packages by name, description and provides.
    Search {
        term: String,
        /// Only this distribution.
        #[arg(long)]
        distro: Option<String>,
        /// Only repositories of this name.
        #[arg(long)]
        repo: Option<String>,
        /// Only this architecture.
        #[arg(long)]
        arch: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a package by id, or every package of that name.
    Info {
        /// A package id, or a package name.
        package: String,
    },
    /// List the files of a package.
    Files {
        /// A package id, or the name of a package that exists once.
        package: String,
    },
    /// List distributions, a distribution's repositories, or show a repository.
    Ls {
        /// Nothing, DISTRO or DISTRO/REPO.
        path: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Remove a package (DISTRO/REPO/ARCH/NAME), or with --recursive an architecture,
    /// repository or distribution.
    Rm {
        /// DISTRO/REPO/ARCH/NAME (`any` packages under ARCH `any`).
        path: String,
        /// Allow removing everything under DISTRO/REPO/ARCH, DISTRO/REPO or DISTRO.
        #[arg(long, short = 'r')]
        recursive: bool,
    },
    /// API keys (admin).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Mirrors of upstream repositories (admin).
    #[command(subcommand)]
    Mirrors(MirrorsCommand),
    /// A distribution's signing key.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
    /// The keys a distribution's uploads must be signed with.
    #[command(subcommand)]
    PackagerKeys(PackagerKeysCommand),
    /// A repository's settings (whether the server signs its packages).
    #[command(subcommand)]
    RepoSettings(RepoSettingsCommand),
    /// Build targets: what to build, where to publish it, and when.
    #[command(subcommand)]
    Targets(TargetsCommand),
    /// Builds of targets: queue, list, show, cancel.
    #[command(subcommand)]
    Builds(BuildsCommand),
    /// Print the server's metrics (Prometheus text).
    Metrics,
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Args)]
pub struct PageArgs {
    /// Page number, from 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub page: u64,
    /// Items per page (at most 200).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=200))]
    pub per_page: u64,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; its secret is printed once.
    Create {
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// PERMISSION[:DISTRO[/REPO]], e.g. publish:arch/extra; repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// List keys.
    Ls {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a key.
    Show { id: uuid::Uuid },
    /// Revoke (delete) a key.
    Revoke { id: uuid::Uuid },
}

#[derive(Debug, Subcommand)]
pub enum MirrorsCommand {
    /// Mirror an upstream repository into DISTRO/REPO.
    Create {
        /// The local repository, as DISTRO/REPO.
        target: String,
        /// The upstream's URL, with pacman's $repo and $arch, e.g.
        /// 'https://geo.mirror.pkgbuild.com/$repo/os/$arch'.
        #[arg(long)]
        upstream: String,
        /// Architectures to mirror (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        arches: Vec<String>,
        /// Seconds between syncs.
        #[arg(long, default_value_t = 3600)]
        interval_secs: u32,
        #[command(flatten)]
        options: MirrorOptions,
    },
    /// List mirrors.
    Ls {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a mirror and its last sync.
    Show { id: i64 },
    /// Change a mirror.
    Update {
        id: i64,
        #[arg(long)]
        upstream: Option<String>,
        /// Architectures to mirror (comma-separated); the current ones when not given.
        #[arg(long, value_delimiter = ',')]
        arches: Vec<String>,
        #[arg(long)]
        interval_secs: Option<u32>,
        #[command(flatten)]
        options: MirrorOptions,
    },
    /// Stop mirroring (the repository and its packages go with it).
    Rm { id: i64 },
    /// Sync a mirror now.
    Sync { id: i64 },
}

#[derive(Debug, Args)]
pub struct MirrorOptions {
    /// Download at most this many bytes per second.
    #[arg(long)]
    pub bandwidth_limit: Option<u64>,
    /// Download at most this many files at once.
    #[arg(long)]
    pub max_concurrent_downloads: Option<u32>,
    /// Keep the upstream's package signatures (true or false).
    #[arg(long)]
    pub keep_signatures: Option<bool>,
    /// Verify packages against this armored keyring file.
    #[arg(long)]
    pub verify_signatures: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Generate a signing key for DISTRO, or import one (--import FILE, armored).
    Create {
        distro: String,
        #[arg(long)]
        import: Option<PathBuf>,
    },
    /// Show DISTRO's signing key.
    Show { distro: String },
    /// Delete DISTRO's signing key.
    Rm { distro: String },
    /// Print DISTRO's public key (armored), for pacman-key --add.
    Export { distro: String },
}

#[derive(Debug, Subcommand)]
pub enum PackagerKeysCommand {
    /// Replace DISTRO's packager keys with those of an armored keyring FILE.
    Set { distro: String, file: PathBuf },
    /// List DISTRO's packager keys.
    Ls { distro: String },
    /// Remove DISTRO's packager keys (unsigned uploads are accepted again).
    Rm { distro: String },
}

#[derive(Debug, Subcommand)]
pub enum RepoSettingsCommand {
    /// Show DISTRO/REPO's settings.
    Show { target: String },
    /// Change DISTRO/REPO's settings.
    Set {
        target: String,
        /// Sign the repository's packages with the distribution's key (true or false).
        #[arg(long, action = clap::ArgAction::Set, required = true)]
        sign_packages: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TargetsCommand {
    /// Create a target that publishes to DISTRO/REPO.
    Create {
        /// The target's unique name.
        name: String,
        /// The repository its packages go to, as DISTRO/REPO.
        target: String,
        /// `git` (a repository at --branch, the PKGBUILD in --path) or `url` (one PKGBUILD).
        #[arg(long)]
        kind: String,
        /// The git repository's or the PKGBUILD's URL (`--url` is the server's).
        #[arg(long, value_name = "URL")]
        source: String,
        #[arg(long)]
        branch: Option<String>,
        #[arg(long)]
        path: Option<String>,
        /// Architectures to build for (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        arches: Vec<String>,
        /// When to build: five cron fields in UTC, e.g. '0 3 * * *'.
        #[arg(long)]
        schedule: Option<String>,
        /// How long a build may take.
        #[arg(long)]
        timeout_secs: Option<u32>,
    },
    /// List the targets the key may manage.
    Ls {
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a target.
    Show { id: i64 },
    /// Change a target; what is not given stays.
    Update {
        id: i64,
        #[arg(long)]
        name: Option<String>,
        /// The git repository's or the PKGBUILD's URL.
        #[arg(long, value_name = "URL")]
        source: Option<String>,
        #[arg(long)]
        branch: Option<String>,
        #[arg(long)]
        path: Option<String>,
        /// The repository its packages go to, as DISTRO/REPO.
        #[arg(long)]
        publish_to: Option<String>,
        #[arg(long, value_delimiter = ',')]
        arches: Vec<String>,
        /// A new schedule (five cron fields).
        #[arg(long, conflicts_with = "no_schedule")]
        schedule: Option<String>,
        /// Remove the schedule: the target is then built only when asked.
        #[arg(long)]
        no_schedule: bool,
        #[arg(long)]
        timeout_secs: Option<u32>,
    },
    /// Delete a target.
    Rm { id: i64 },
    /// Create the targets of a Vieter server: FILE is its `GET /api/v1/targets` answer
    /// (`-` for standard input). Each is named after its PKGBUILD's directory or repository.
    ImportVieter {
        file: PathBuf,
        /// The distribution the targets publish to (Vieter has none).
        #[arg(long)]
        distro: String,
        /// The schedule of targets without one (Vieter's global_schedule, `0 3` by default).
        #[arg(long, default_value = "0 3 * * *")]
        default_schedule: String,
        /// Print what would be created, create nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BuildsCommand {
    /// Queue a build of target TARGET_ID for one of its architectures.
    Run {
        target_id: i64,
        #[arg(long)]
        arch: String,
        /// Build even when every package's version is already in the repository.
        #[arg(long)]
        force: bool,
    },
    /// List builds, newest first.
    Ls {
        /// Only builds of this target (its id).
        #[arg(long)]
        target: Option<i64>,
        /// Only builds in this state (queued, running, succeeded, skipped, failed, cancelled).
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        arch: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show a build.
    Show { id: i64 },
    /// Cancel a build (a running one stops when its agent next reports).
    Cancel { id: i64 },
    /// Print a build's log.
    Log {
        id: i64,
        /// Keep printing what the build writes until it ends.
        #[arg(long, short)]
        follow: bool,
    },
}
