//! Process measurements from /proc: resident memory now and at its peak.

use std::time::Duration;

/// A field of `/proc/{pid}/status` in bytes (`VmRSS`, `VmHWM`, ...).
pub fn status_bytes(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .ok_or_else(|| anyhow::anyhow!("no {field} in /proc/{pid}/status"))?;
    let kib: u64 = line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib * 1024)
}

/// Resident memory now.
pub fn rss(pid: u32) -> anyhow::Result<u64> {
    status_bytes(pid, "VmRSS")
}

/// Samples a process's resident memory until `stop` resolves; returns the largest value seen
/// (together with the kernel's own high-water mark, whichever is larger).
pub async fn peak_rss_during<F: std::future::Future>(
    pid: u32,
    stop: F,
) -> anyhow::Result<(u64, F::Output)> {
    let mut peak = rss(pid)?;
    tokio::pin!(stop);
    let output = loop {
        tokio::select! {
            out = &mut stop => break out,
            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                if let Ok(now) = rss(pid) { peak = peak.max(now); }
            }
        }
    };
    if let Ok(hwm) = status_bytes(pid, "VmHWM") {
        peak = peak.max(hwm);
    }
    Ok((peak, output))
}

/// Resets the kernel's high-water mark (`VmHWM`) to the current resident size, so a later
/// `VmHWM` is the peak since now. Needs permission to write the process's `clear_refs`.
pub fn reset_peak(pid: u32) -> anyhow::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")?;
    Ok(())
}
