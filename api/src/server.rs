//! Serving connections: hyper's HTTP/1.1 and HTTP/2 connection handling in front of the poem
//! application, with the timeouts that stop slow or silent clients from holding connections
//! (slow-loris). poem's own `Server` offers only an idle timeout, which does not close a
//! connection whose first request header trickles in, and it builds hyper without a timer, so
//! hyper's header read timeout cannot be switched on through it.
//!
//! - `header_read`: a request's whole header must arrive within this time, counted from when
//!   the connection opens or its previous response was sent (hyper's HTTP/1 header read
//!   timeout; it therefore also ends idle HTTP/1.1 keep-alive connections);
//! - `idle`: a connection on which no byte is read or written for this long is closed,
//!   whatever it is doing: silent new connections, idle HTTP/2 connections, clients that stop
//!   sending a body or stop reading a response.
//!
//! After the shutdown signal no connection is accepted, idle ones close, and in-flight
//! requests get `grace` to finish before their connections are dropped.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, http};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

/// Serves `ep` on the connections `acceptor` accepts until `shutdown` resolves, then gives
/// in-flight requests `grace` to finish.
pub async fn run<A: Acceptor + 'static, E: Endpoint + 'static>(
    mut acceptor: A,
    ep: E,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let ep = Arc::new(ep);
    let connections = TaskTracker::new();
    let stop = CancellationToken::new();
    let drop_all = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = acceptor.accept() => match accepted {
                Ok((io, local, remote, scheme)) => {
                    let connection = Connection { local, remote, scheme, timeouts };
                    let (ep, stop, drop_all) = (ep.clone(), stop.clone(), drop_all.clone());
                    connections.spawn(async move {
                        tokio::select! {
                            () = connection.serve(io, ep, stop) => {}
                            () = drop_all.cancelled() => {}
                        }
                    });
                }
                // Out of file descriptors, say: back off instead of spinning.
                Err(err) => {
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(acceptor);
    stop.cancel();
    connections.close();
    tracing::info!(
        connections = connections.len(),
        grace_secs = grace.as_secs(),
        "shutting down: letting in-flight requests finish"
    );
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            "grace period over: closing the remaining connections"
        );
        drop_all.cancel();
        connections.wait().await;
    }
}

struct Connection {
    local: LocalAddr,
    remote: RemoteAddr,
    scheme: http::uri::Scheme,
    timeouts: Timeouts,
}

impl Connection {
    async fn serve<E: Endpoint + 'static>(
        self,
        io: impl AsyncRead + AsyncWrite + Send + Unpin + 'static,
        ep: Arc<E>,
        stop: CancellationToken,
    ) {
        let activity = Arc::new(Activity::new());
        let io = Watched {
            inner: io,
            activity: activity.clone(),
        };
        let Connection {
            local,
            remote,
            scheme,
            timeouts,
        } = self;
        let remote_for_log = remote.clone();
        let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
            let (ep, local, remote, scheme) =
                (ep.clone(), local.clone(), remote.clone(), scheme.clone());
            async move {
                let request = poem::Request::from((req, local, remote, scheme));
                Ok::<http::Response<_>, Infallible>(ep.get_response(request).await.into())
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(timeouts.header_read);
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(conn);
        tokio::select! {
            _ = &mut conn => return,
            () = activity.silent_for(timeouts.idle) => {
                tracing::debug!(remote_addr = %remote_for_log, "closing an idle connection");
                return;
            }
            () = stop.cancelled() => {}
        }
        // Shutting down: finish what is in flight, still dropping a connection gone silent.
        conn.as_mut().graceful_shutdown();
        tokio::select! {
            _ = conn => {}
            () = activity.silent_for(timeouts.idle) => {}
        }
    }
}

/// When a connection last moved a byte.
struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `idle`.
    async fn silent_for(&self, idle: Duration) {
        loop {
            let last = self.origin + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A connection's stream, noting every byte that moves.
struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
