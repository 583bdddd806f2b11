//! Response bodies of the JSON API.

mod build;
mod catalogue;
mod key;
mod mirror;
mod package;
mod signing;
mod target;
mod upload;

pub use build::{
    BuildPage, BuildReport, BuildStatusView, BuildView, ClaimRequest, ClaimView, Extended, Finish,
    LeaseRef, LogAppended, NewBuild, PlanView,
};
pub use catalogue::{DistroPage, DistroView, RepoArchView, RepoDetailView, RepoPage, RepoView};
pub use key::{CreatedKeyView, KeyPage, KeyView, NewKeyView, ScopeView};
pub use mirror::{MirrorChangeView, MirrorPage, MirrorView, NewMirrorView};
pub use package::{
    FilePage, OptDepend, PackagePage, PackageSort, PackageSummaryView, PackageView, SortOrder,
};
pub use signing::{
    NewSigningKeyView, PackagerKeyList, PackagerKeyView, RepoSettingsView, SigningKeyView,
};
pub use target::{NewTarget, TargetChangeView, TargetPage, TargetView};
pub use upload::{UploadFailure, UploadPage, UploadStatusView, UploadView, UploadedPackage};
