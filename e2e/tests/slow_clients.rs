//! Slow-loris: clients that trickle a request header or hold connections open without using
//! them are disconnected after the configured timeouts (`header_read_timeout_secs`,
//! `idle_timeout_secs`), so they cannot pile up connections.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rieter_e2e::{Options, Rieter};

/// Far longer than the timeouts under test, so a connection still open then was never closed.
const GIVE_UP: Duration = Duration::from_secs(15);

async fn start(header_read_secs: u32, idle_secs: u32) -> Rieter {
    Rieter::start(Options {
        workers: 0,
        env: vec![
            (
                "RIETER_HEADER_READ_TIMEOUT_SECS".into(),
                header_read_secs.to_string(),
            ),
            ("RIETER_IDLE_TIMEOUT_SECS".into(), idle_secs.to_string()),
        ],
        ..Options::default()
    })
    .await
    .unwrap()
}

fn connect(rieter: &Rieter) -> TcpStream {
    let addr = rieter.base_url.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream
}

/// Whether the server has closed `stream` (end of file or reset); reads and discards whatever
/// it sent before.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0; 4096];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_header_trickling_in_is_cut_off() {
    let rieter = start(2, 60).await;
    let mut stream = connect(&rieter);
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: rieter\r\n")
        .unwrap();
    // One more byte of header every 300 ms keeps the connection busy, never idle.
    let started = Instant::now();
    let mut closed = false;
    while started.elapsed() < GIVE_UP {
        if closed_by_server(&mut stream) || stream.write_all(b"x").is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        closed,
        "a header still arriving after {GIVE_UP:?} was not cut off"
    );
    eprintln!("cut off after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed() {
    let rieter = start(60, 2).await;

    // A keep-alive connection after its response, and one that never sends a byte.
    let mut kept_alive = connect(&rieter);
    kept_alive
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: rieter\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    let mut buf = [0; 4096];
    let asked = Instant::now();
    while !response.windows(4).any(|w| w == b"\"ok\"") {
        assert!(asked.elapsed() < GIVE_UP, "no answer");
        match kept_alive.read(&mut buf) {
            Ok(0) => panic!("closed before answering"),
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    assert!(response.starts_with(b"HTTP/1.1 200"));
    let mut silent = connect(&rieter);

    let started = Instant::now();
    let (mut kept_alive_closed, mut silent_closed) = (false, false);
    while started.elapsed() < GIVE_UP && !(kept_alive_closed && silent_closed) {
        kept_alive_closed = kept_alive_closed || closed_by_server(&mut kept_alive);
        silent_closed = silent_closed || closed_by_server(&mut silent);
    }
    assert!(
        kept_alive_closed,
        "an idle keep-alive connection stayed open"
    );
    assert!(silent_closed, "a connection that never spoke stayed open");
    eprintln!("closed after {:?}", started.elapsed());
}
