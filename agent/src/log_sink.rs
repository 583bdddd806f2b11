//! A build's log on its way to the server: what the build prints is buffered here and sent
//! in chunks (at most every second, at most 1 MiB each) by one task, with the offset each
//! starts at, so a chunk sent again after a lost answer is not doubled. The buffer is
//! bounded: a build printing faster than the server takes it loses the excess, with a note.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::client::{CallError, Client};

const CHUNK: usize = 1 << 20;
const MAX_BUFFERED: usize = 8 << 20;
const EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Inner>,
}

struct Inner {
    buffer: Mutex<Buffer>,
    wake: Notify,
    /// Told whenever the buffer was emptied.
    sent: Notify,
}

#[derive(Default)]
struct Buffer {
    bytes: BytesMut,
    dropped: u64,
    closed: bool,
}

impl LogSink {
    /// A sink and the task sending it to build `build`'s log, which has `offset` bytes already
    /// (from an earlier claim); the task ends once the sink is closed and everything was sent
    /// (or the server stopped taking it).
    pub fn start(
        client: Client,
        build: i64,
        lease: Uuid,
        offset: u64,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let sink = Self {
            inner: Arc::new(Inner {
                buffer: Mutex::new(Buffer::default()),
                wake: Notify::new(),
                sent: Notify::new(),
            }),
        };
        let task = tokio::spawn(send_all(sink.clone(), client, build, lease, offset));
        (sink, task)
    }

    /// A sink that sends nothing, for tests: what was written stays in it.
    #[cfg(test)]
    pub fn unsent() -> Self {
        Self {
            inner: Arc::new(Inner {
                buffer: Mutex::new(Buffer::default()),
                wake: Notify::new(),
                sent: Notify::new(),
            }),
        }
    }

    /// What was written and not sent.
    #[cfg(test)]
    pub fn unsent_text(&self) -> String {
        let buffer = self.inner.buffer.lock().expect("log buffer");
        String::from_utf8_lossy(&buffer.bytes).into_owned()
    }

    pub fn write(&self, bytes: &[u8]) {
        let mut buffer = self.inner.buffer.lock().expect("log buffer");
        if buffer.bytes.len() + bytes.len() > MAX_BUFFERED {
            buffer.dropped += bytes.len() as u64;
            return;
        }
        if buffer.dropped > 0 {
            let note = format!(
                "\n[rieter-agent: {} bytes of output dropped]\n",
                buffer.dropped
            );
            buffer.bytes.extend_from_slice(note.as_bytes());
            buffer.dropped = 0;
        }
        buffer.bytes.extend_from_slice(bytes);
        if buffer.bytes.len() >= CHUNK {
            self.inner.wake.notify_one();
        }
    }

    /// A line from the agent itself.
    pub fn note(&self, line: &str) {
        self.write(format!("==> rieter-agent: {line}\n").as_bytes());
    }

    /// Waits (at most `within`) until what was written so far is sent: before the build
    /// changes state on the server, after which its log takes no more.
    pub async fn flush(&self, within: Duration) {
        let wait = async {
            loop {
                let sent = self.inner.sent.notified();
                if self
                    .inner
                    .buffer
                    .lock()
                    .expect("log buffer")
                    .bytes
                    .is_empty()
                {
                    return;
                }
                self.inner.wake.notify_one();
                sent.await;
            }
        };
        let _ = tokio::time::timeout(within, wait).await;
    }

    /// No more writes: the task sends what is left and ends.
    pub fn close(&self) {
        self.inner.buffer.lock().expect("log buffer").closed = true;
        self.inner.wake.notify_one();
    }

    /// Drops what is buffered, once nothing more can be sent.
    fn discard(&self) {
        self.inner.buffer.lock().expect("log buffer").bytes.clear();
        self.inner.sent.notify_waiters();
    }

    fn take(&self) -> (Option<Bytes>, bool) {
        let mut buffer = self.inner.buffer.lock().expect("log buffer");
        let len = buffer.bytes.len().min(CHUNK);
        let chunk = (len > 0).then(|| buffer.bytes.split_to(len).freeze());
        (chunk, buffer.closed && buffer.bytes.is_empty())
    }
}

async fn send_all(sink: LogSink, client: Client, build: i64, lease: Uuid, mut offset: u64) {
    loop {
        let (chunk, last) = sink.take();
        if let Some(chunk) = chunk {
            match send(&client, build, lease, offset, chunk).await {
                Some(length) => offset = length,
                // The lease ended or the log is full: nothing more will be taken.
                None => {
                    sink.discard();
                    return;
                }
            }
            continue;
        }
        sink.inner.sent.notify_waiters();
        if last {
            return;
        }
        let _ = tokio::time::timeout(EVERY, sink.inner.wake.notified()).await;
    }
}

/// Sends one chunk, trying again while the server is unreachable; the log's new length, or
/// `None` when the server will take no more.
async fn send(client: &Client, build: i64, lease: Uuid, offset: u64, chunk: Bytes) -> Option<u64> {
    let mut pause = Duration::from_millis(500);
    for _ in 0..8 {
        match client.append_log(build, lease, offset, chunk.clone()).await {
            Ok(length) => return Some(length),
            Err(err) if err.is_transient() => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
            Err(CallError::Refused { status, detail }) if status.as_u16() == 413 => {
                tracing::warn!(build.id = build, %detail, "the build's log is full");
                return None;
            }
            Err(err) => {
                tracing::warn!(build.id = build, error = %err, "the server took no more log");
                return None;
            }
        }
    }
    tracing::warn!(
        build.id = build,
        "could not send a log chunk; the log stops here"
    );
    None
}
