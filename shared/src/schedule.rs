//! When a repository architecture with unpublished changes is rebuilt: the coalescing policy,
//! as a pure function of how long it has been quiet and dirty and whether uploads of its
//! repository are still being parsed. `db::regen::plan` reads those facts under the
//! architecture's row lock and applies what this decides.

use std::time::Duration;

/// How long to let a repository settle before rebuilding it.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Time without changes (and without unparsed uploads) before a rebuild.
    pub quiet: Duration,
    /// Longest a stream of changes may postpone a rebuild.
    pub max_delay: Duration,
    /// How often to look again while uploads of the repository are still being parsed.
    pub poll: Duration,
    /// The longest wait a job sleeps through itself. Sleeping in the job publishes exactly when
    /// the quiet period ends, where a re-queued job is only found by the next poll (run times
    /// have whole-second resolution); longer waits re-queue rather than occupy a job slot.
    pub hold: Duration,
}

/// What an architecture's state calls for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Rebuild now.
    Build,
    /// Look again after this long; `requeue` when it is longer than the job should sleep.
    Wait { wait: Duration, requeue: bool },
}

/// The last change came `quiet_for` ago, the first unpublished one `dirty_for` ago, and
/// `parsing` says whether uploads of the repository are still being parsed.
pub fn decide(
    timing: &Timing,
    quiet_for: Duration,
    dirty_for: Duration,
    parsing: bool,
) -> Decision {
    let quiet_left = timing.quiet.saturating_sub(quiet_for);
    let overdue_in = timing.max_delay.saturating_sub(dirty_for);
    if overdue_in.is_zero() || (quiet_left.is_zero() && !parsing) {
        return Decision::Build;
    }
    let wait = if quiet_left.is_zero() {
        timing.poll
    } else {
        quiet_left
    };
    // Never past the maximum delay; never a busy loop.
    let wait = wait.min(overdue_in).max(Duration::from_millis(50));
    Decision::Wait {
        wait,
        requeue: wait > timing.hold,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: Timing = Timing {
        quiet: Duration::from_secs(3),
        max_delay: Duration::from_secs(60),
        poll: Duration::from_millis(500),
        hold: Duration::from_secs(3),
    };

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn builds_once_quiet_and_nothing_is_being_parsed() {
        assert_eq!(
            decide(&TIMING, secs(3.0), secs(10.0), false),
            Decision::Build
        );
        assert_eq!(
            decide(&TIMING, secs(1.0), secs(1.0), false),
            Decision::Wait {
                wait: secs(2.0),
                requeue: false
            }
        );
    }

    #[test]
    fn polls_while_parsing_but_never_past_the_maximum_delay() {
        assert_eq!(
            decide(&TIMING, secs(5.0), secs(5.0), true),
            Decision::Wait {
                wait: secs(0.5),
                requeue: false
            }
        );
        assert_eq!(
            decide(&TIMING, secs(0.0), secs(59.8), true),
            Decision::Wait {
                wait: secs(0.2),
                requeue: false
            }
        );
        assert_eq!(
            decide(&TIMING, secs(0.0), secs(60.0), true),
            Decision::Build
        );
    }

    #[test]
    fn long_waits_are_requeued_and_short_ones_slept() {
        let patient = Timing {
            quiet: Duration::from_secs(30),
            ..TIMING
        };
        assert_eq!(
            decide(&patient, secs(1.0), secs(1.0), false),
            Decision::Wait {
                wait: secs(29.0),
                requeue: true
            }
        );
        let quick = Timing {
            quiet: Duration::from_millis(10),
            ..TIMING
        };
        // A wait is at least 50 ms, so a job never spins.
        assert_eq!(
            decide(&quick, secs(0.0), secs(0.0), false),
            Decision::Wait {
                wait: Duration::from_millis(50),
                requeue: false
            }
        );
    }
}
