//! The reader between the decoder and the tar parser, where the limits on the whole parse are
//! enforced: unpacked size, CPU time and decoder memory.
//!
//! Every byte the tar parser sees, including the data of entries it skips, comes through
//! [`Guarded::read`], so a decoder that produces output without end is stopped here. When it
//! stops a parse it keeps the reason: the tar parser only passes on an `io::Error`.

use std::io::{self, Read};
use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

use super::{Limits, PackageError, compression};

/// Reads between two looks at the CPU clock. A read returns at most one tar block or 32 KiB
/// (what the tar parser asks for), and the clock costs a system call.
const READS_PER_CLOCK_CHECK: u32 = 64;

pub(crate) struct Guarded<R> {
    inner: R,
    unpacked_left: u64,
    limits: Limits,
    clock: CpuClock,
    reads: u32,
    stopped: Option<PackageError>,
}

impl<R: Read> Guarded<R> {
    pub(crate) fn new(inner: R, limits: &Limits, clock: CpuClock) -> Self {
        Self {
            inner,
            unpacked_left: limits.max_unpacked_bytes,
            limits: *limits,
            clock,
            reads: 0,
            stopped: None,
        }
    }

    /// Why the parse was stopped here, if it was: this takes precedence over whatever error
    /// the tar parser made of it.
    pub(crate) fn stopped(self) -> Option<PackageError> {
        self.stopped
    }

    fn stop(&mut self, reason: PackageError) -> io::Error {
        let err = io::Error::other(reason.to_string());
        self.stopped = Some(reason);
        err
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads = self.reads.wrapping_add(1);
        if self.reads.is_multiple_of(READS_PER_CLOCK_CHECK) {
            self.clock.check().map_err(|reason| self.stop(reason))?;
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(err) if compression::is_memory_limit(&err) => {
                return Err(self.stop(PackageError::DecoderMemory {
                    limit: self.limits.max_decoder_memory_bytes,
                }));
            }
            Err(err) => return Err(err),
        };
        match self.unpacked_left.checked_sub(n as u64) {
            Some(left) => {
                self.unpacked_left = left;
                Ok(n)
            }
            None => Err(self.stop(PackageError::TooLarge {
                limit: self.limits.max_unpacked_bytes,
            })),
        }
    }
}

/// The CPU time this thread has used since the parse began, against a budget. CPU time
/// rather than wall time, so a busy machine does not fail packages that would parse in time.
pub(crate) struct CpuClock {
    started: Duration,
    budget: Duration,
}

impl CpuClock {
    pub(crate) fn start(budget: Duration) -> Self {
        Self {
            started: thread_cpu_time(),
            budget,
        }
    }

    pub(crate) fn check(&self) -> Result<(), PackageError> {
        if thread_cpu_time().saturating_sub(self.started) > self.budget {
            return Err(PackageError::TooSlow {
                limit_secs: self.budget.as_secs_f64(),
            });
        }
        Ok(())
    }
}

fn thread_cpu_time() -> Duration {
    let now = clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}
