//! Running one step in a sandbox: its output goes to the build's log (standard output can
//! be kept instead, for `--printsrcinfo`), and it is killed when the build is stopped or its
//! time is up.

use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Sandbox, Step};
use crate::log_sink::LogSink;

/// The most standard output a step may leave for the agent to read (a `.SRCINFO`).
const MAX_CAPTURE: usize = 1 << 20;

/// Why a build stops before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Halt {
    /// The build was cancelled on the server.
    Cancelled,
    /// The agent lost its lease: another agent may have the build now.
    LeaseLost,
    /// The agent is shutting down.
    Shutdown,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("stopped: {0:?}")]
    Halted(Halt),
    #[error("the build ran out of time")]
    TimedOut,
    #[error("could not start the sandbox: {0}")]
    Spawn(std::io::Error),
    #[error("makepkg failed ({0})")]
    Failed(String),
    #[error("makepkg printed more than {MAX_CAPTURE} bytes")]
    TooMuchOutput,
}

/// What a step printed on its standard output, when asked to keep it.
pub type Output = Vec<u8>;

/// Runs `step` in `sandbox` until it ends, `halt` says to stop, or `deadline` passes.
pub async fn run(
    sandbox: &dyn Sandbox,
    step: &Step,
    log: &LogSink,
    capture: bool,
    halt: &mut watch::Receiver<Option<Halt>>,
    deadline: Instant,
) -> Result<Output, RunError> {
    let mut cmd = sandbox.command(step);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(RunError::Spawn)?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let out_task = {
        let log = log.clone();
        tokio::spawn(async move {
            if capture {
                keep(stdout).await
            } else {
                copy_to_log(stdout, &log).await;
                Ok(Vec::new())
            }
        })
    };
    let err_task = {
        let log = log.clone();
        tokio::spawn(async move { copy_to_log(stderr, &log).await })
    };

    let ended = tokio::select! {
        status = child.wait() => Ok(status),
        halted = halt.wait_for(Option::is_some) => Err(match halted {
            Ok(reason) => RunError::Halted(reason.expect("is some")),
            Err(_) => RunError::Halted(Halt::Shutdown),
        }),
        () = tokio::time::sleep_until(deadline) => Err(RunError::TimedOut),
    };
    let status = match ended {
        Ok(status) => status.map_err(RunError::Spawn)?,
        Err(why) => {
            kill(sandbox, step, &mut child).await;
            return Err(why);
        }
    };
    let _ = err_task.await;
    let captured = out_task.await.unwrap_or(Ok(Vec::new()))?;
    if status.success() {
        Ok(captured)
    } else {
        Err(RunError::Failed(status.to_string()))
    }
}

/// Kills the step: its process group (the sandbox's first process takes every process of
/// the build with it), and for a container engine, the container.
async fn kill(sandbox: &dyn Sandbox, step: &Step, child: &mut tokio::process::Child) {
    if let Some(pid) = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32))
    {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill().await;
    if let Some(mut stop) = sandbox.stop(step) {
        let _ = stop
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
    }
}

async fn copy_to_log(mut from: impl AsyncRead + Unpin, log: &LogSink) {
    let mut buf = vec![0; 16 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => log.write(&buf[..n]),
        }
    }
}

async fn keep(mut from: impl AsyncRead + Unpin) -> Result<Vec<u8>, RunError> {
    let mut kept = Vec::new();
    let mut limited = (&mut from).take(MAX_CAPTURE as u64 + 1);
    limited
        .read_to_end(&mut kept)
        .await
        .map_err(RunError::Spawn)?;
    if kept.len() > MAX_CAPTURE {
        return Err(RunError::TooMuchOutput);
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use tokio::process::Command;

    use super::*;

    /// No isolation: the step's first argument is a shell script. What `run` does around
    /// the sandbox is the same for every backend.
    struct Plain;

    impl Sandbox for Plain {
        fn command(&self, step: &Step) -> Command {
            let mut cmd = Command::new("sh");
            cmd.arg("-c").arg(&step.args[0]);
            cmd
        }
    }

    fn step(script: &str) -> Step {
        Step {
            work: PathBuf::from("/nonexistent"),
            args: vec![script.to_owned()],
            network: false,
            name: "test".into(),
        }
    }

    fn running(needle: &str) -> bool {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| {
                    String::from_utf8_lossy(&c)
                        .replace('\0', " ")
                        .contains(needle)
                })
                .unwrap_or(false)
        })
    }

    fn later(secs: u64) -> Instant {
        Instant::now() + Duration::from_secs(secs)
    }

    #[tokio::test]
    async fn output_goes_to_the_log_or_is_kept_and_a_failure_is_an_error() {
        let (_tx, mut halt) = watch::channel(None);
        let log = LogSink::unsent();
        let kept = run(
            &Plain,
            &step("echo out; echo err >&2"),
            &log,
            true,
            &mut halt,
            later(10),
        )
        .await
        .unwrap();
        assert_eq!(kept, b"out\n");
        assert_eq!(log.unsent_text(), "err\n");
        let failed = run(
            &Plain,
            &step("echo why; exit 3"),
            &log,
            false,
            &mut halt,
            later(10),
        )
        .await;
        assert!(matches!(failed, Err(RunError::Failed(_))), "{failed:?}");
        assert!(log.unsent_text().ends_with("why\n"));
    }

    #[tokio::test]
    async fn a_step_past_its_deadline_is_killed_with_every_process_it_started() {
        let (_tx, mut halt) = watch::channel(None);
        let log = LogSink::unsent();
        let deadline = Instant::now() + Duration::from_millis(300);
        let result = run(
            &Plain,
            &step("sleep 31.25 & sleep 31.25"),
            &log,
            false,
            &mut halt,
            deadline,
        )
        .await;
        assert!(matches!(result, Err(RunError::TimedOut)), "{result:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!running("sleep 31.25"), "a process of the step survived");
    }

    #[tokio::test]
    async fn a_halt_stops_the_step_at_once() {
        let (tx, mut halt) = watch::channel(None);
        let log = LogSink::unsent();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = tx.send(Some(Halt::Cancelled));
        });
        let started = std::time::Instant::now();
        let result = run(
            &Plain,
            &step("sleep 32.25"),
            &log,
            false,
            &mut halt,
            later(60),
        )
        .await;
        assert!(
            matches!(result, Err(RunError::Halted(Halt::Cancelled))),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!running("sleep 32.25"));
    }
}
