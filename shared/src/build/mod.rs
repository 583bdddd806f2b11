//! The build system (issue 16). Targets say what to build (a git repository at a branch and
//! path, or a PKGBUILD by URL), where its packages are published, for which architectures and
//! on which schedule; the server computes the schedule's next run. Builds are their runs,
//! queued here and claimed by agents through leases (`queue`); agents reach all of this
//! through the api, never through the database.

pub mod admin;
pub mod log;
pub mod plan;
pub mod queue;
pub mod schedule;
pub mod target;

pub use schedule::{Schedule, ScheduleError};
pub use target::{InputError, Kind, SpecError, TargetChange, TargetInput, TargetName, TargetSpec};
