//! The build system (issue 16). Targets say what to build (a git repository at a branch and
//! path, or a PKGBUILD by URL), where its packages are published, for which architectures and
//! on which schedule; the server computes the schedule's next run.

pub mod admin;
pub mod schedule;
pub mod target;

pub use schedule::{Schedule, ScheduleError};
pub use target::{InputError, Kind, SpecError, TargetChange, TargetInput, TargetName, TargetSpec};
