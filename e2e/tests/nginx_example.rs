//! deploy/nginx.conf, run by a real nginx in front of a stand-in upstream: it is valid, plain
//! HTTP redirects to https, HTTP/2 is on, and the client address Rieter receives and nginx logs
//! is the connection's own unless it comes from a trusted proxy.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const NGINX: &str = "/usr/sbin/nginx";
const SNAKEOIL_CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const SNAKEOIL_KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";
const SPOOFED: &str = "203.0.113.9";

fn example() -> String {
    std::fs::read_to_string(format!("{ROOT}/deploy/nginx.conf")).unwrap()
}

/// nginx's version as (major, minor, patch), from `nginx -v`.
fn nginx_version() -> (u32, u32, u32) {
    let out = Command::new(NGINX)
        .arg("-v")
        .output()
        .expect("nginx is required (Debian package nginx)");
    let text = String::from_utf8_lossy(&out.stderr);
    let version = text.trim().rsplit('/').next().unwrap();
    let mut parts = version.split('.').map(|p| p.parse().unwrap());
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The example as this test runs it: loopback ports, the snakeoil certificate, the log in
/// `dir`, the upstream on `upstream`; optionally trusting 127.0.0.1 as a proxy.
struct Ports {
    http: u16,
    https: u16,
    upstream: u16,
}

fn adapted(ports: &Ports, log: &Path, trust_loopback_proxy: bool) -> String {
    let mut conf = example()
        .replace("listen 80;", &format!("listen 127.0.0.1:{};", ports.http))
        .replace("listen [::]:80;", &format!("listen [::1]:{};", ports.http))
        .replace(
            "listen 443 ssl;",
            &format!("listen 127.0.0.1:{} ssl;", ports.https),
        )
        .replace(
            "listen [::]:443 ssl;",
            &format!("listen [::1]:{} ssl;", ports.https),
        )
        .replace(
            "server 127.0.0.1:8000;",
            &format!("server 127.0.0.1:{};", ports.upstream),
        )
        .replace("/etc/ssl/repo.example.org/fullchain.pem", SNAKEOIL_CERT)
        .replace("/etc/ssl/repo.example.org/privkey.pem", SNAKEOIL_KEY)
        .replace("/var/log/nginx/rieter.access.log", log.to_str().unwrap());
    if trust_loopback_proxy {
        conf = conf
            .replace(
                "# set_real_ip_from 10.0.0.0/8;",
                "set_real_ip_from 127.0.0.1;",
            )
            .replace("# real_ip_header", "real_ip_header")
            .replace("# real_ip_recursive", "real_ip_recursive");
    }
    // Before 1.25.1 HTTP/2 was a parameter of `listen`; that is the only difference.
    if nginx_version() < (1, 25, 1) {
        eprintln!("nginx < 1.25.1: checking the example with `listen ... http2` for `http2 on;`");
        conf = conf
            .replace("    http2 on;\n", "")
            .replace(" ssl;", " ssl http2;");
    }
    conf
}

/// A running nginx (master in the foreground, so it is our child) with its own prefix dir.
struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    fn main_conf(dir: &Path, site: &str) -> PathBuf {
        let site_path = dir.join("rieter.conf");
        std::fs::write(&site_path, site).unwrap();
        let main = dir.join("nginx.conf");
        let d = dir.display();
        std::fs::write(
            &main,
            format!(
                "daemon off;\npid {d}/nginx.pid;\nerror_log stderr;\nevents {{}}\n\
                 http {{\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
                 include {};\n}}\n",
                site_path.display()
            ),
        )
        .unwrap();
        main
    }

    fn check(site: &str) -> std::process::Output {
        let dir = tempfile::tempdir().unwrap();
        let main = Self::main_conf(dir.path(), site);
        Command::new(NGINX)
            .args(["-t", "-e", "stderr", "-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(main)
            .output()
            .unwrap()
    }

    fn start(site: &str, ports: &Ports) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let main = Self::main_conf(dir.path(), site);
        let child = Command::new(NGINX)
            .args(["-e", "stderr", "-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(main)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let nginx = Self { child, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", ports.https)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master stops its workers too; SIGKILL would orphan them.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

/// A stand-in for Rieter: answers 200 to anything and keeps each request's header block.
fn upstream() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            while reader.read_line(&mut head).is_ok_and(|n| n > 0) && !head.ends_with("\r\n\r\n") {}
            record.lock().unwrap().push(head);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (port, seen)
}

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl is required");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn forwarded_for(head: &str) -> Vec<&str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-forwarded-for"))
        .map(|(_, value)| value.trim())
        .collect()
}

#[test]
fn the_example_is_current_and_valid() {
    let conf = example();
    assert!(
        conf.contains("\n    http2 on;\n"),
        "HTTP/2 is enabled with `http2 on;`"
    );
    assert!(
        !conf
            .lines()
            .any(|l| l.trim_start().starts_with("listen") && l.contains("http2")),
        "`listen ... http2` is deprecated since nginx 1.25.1"
    );
    assert!(
        !conf.contains("$proxy_add_x_forwarded_for"),
        "clients could spoof X-Forwarded-For"
    );
    assert!(conf.contains("proxy_request_buffering off;"));

    // client_max_body_size is Rieter's max_upload_bytes, so nginx lets through what Rieter
    // accepts (its 413 then comes from Rieter, as a problem document).
    let toml = std::fs::read_to_string(format!("{ROOT}/deploy/rieter.example.toml")).unwrap();
    let max_upload: u64 = toml
        .lines()
        .find_map(|l| l.strip_prefix("max_upload_bytes"))
        .and_then(|rest| {
            rest.split('=')
                .nth(1)?
                .split('#')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .expect("max_upload_bytes in the example configuration");
    let nginx_limit = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("client_max_body_size "))
        .unwrap()
        .trim_end_matches(';');
    let (number, unit) = nginx_limit.split_at(nginx_limit.len() - 1);
    let factor = match unit {
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => panic!("client_max_body_size {nginx_limit}: give it in k, m or g"),
    };
    assert_eq!(number.parse::<u64>().unwrap() * factor, max_upload);

    let ports = Ports {
        http: 80,
        https: 443,
        upstream: 8000,
    };
    let log = tempfile::NamedTempFile::new().unwrap();
    for trust in [false, true] {
        let out = Nginx::check(&adapted(&ports, log.path(), trust));
        assert!(
            out.status.success(),
            "nginx -t:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn nginx_redirects_speaks_http2_and_vouches_for_the_client_address() {
    for trust in [false, true] {
        let (upstream_port, seen) = upstream();
        let ports = Ports {
            http: free_port(),
            https: free_port(),
            upstream: upstream_port,
        };
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("access.log");
        let nginx = Nginx::start(&adapted(&ports, &log, trust), &ports);

        let redirect = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
            &format!("http://127.0.0.1:{}/arch/acme/x86_64/acme.db", ports.http),
        ]);
        assert_eq!(
            redirect,
            "301 https://repo.example.org/arch/acme/x86_64/acme.db"
        );

        let version = curl(&[
            "--insecure",
            "--http2",
            "-H",
            &format!("X-Forwarded-For: {SPOOFED}"),
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &format!("https://127.0.0.1:{}/api/v1/health", ports.https),
        ]);
        assert_eq!(version, "2");
        drop(nginx);

        let heads = seen.lock().unwrap();
        assert_eq!(heads.len(), 1, "the redirect never reaches Rieter");
        // Untrusted, the client's claim is replaced by the connection's address; from a
        // trusted proxy, the address it reports is the client's.
        let client = if trust { SPOOFED } else { "127.0.0.1" };
        assert_eq!(forwarded_for(&heads[0]), [client], "{}", heads[0]);
        let logged = std::fs::read_to_string(&log).unwrap();
        let line = logged
            .lines()
            .find(|l| l.contains("GET /api/v1/health"))
            .unwrap_or_else(|| panic!("the request is not logged:\n{logged}"));
        assert!(
            line.starts_with(&format!("{client} via 127.0.0.1 ")),
            "{line}"
        );
    }
}
