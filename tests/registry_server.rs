//! A real OCI registry on loopback for the end-to-end tests: Debian's
//! `docker-registry` (the CNCF distribution registry), started per test
//! binary on a free port with its own storage, and stopped on drop.
//! `.ci/run` installs it; a machine without it fails these tests loudly.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = "docker-registry";

/// A running registry. Dropping it stops it and removes its storage.
pub struct RegistryServer {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:<port>`, or `<ip>:<port>` over HTTPS.
    pub address: String,
    tls: bool,
}

impl RegistryServer {
    /// The registry's process id (its CPU time, for the benchmark).
    #[allow(dead_code)] // Only the benchmark reads it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A registry on loopback, over plain HTTP, with its own storage.
    pub fn start() -> Self {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("sigward-registry-{}-{port}", std::process::id()));
        Self::spawn(&dir, &dir.join("data"), &format!("127.0.0.1:{port}"), None)
    }

    /// A second registry serving this one's storage over HTTPS at `ip`, with
    /// `tls`'s certificate and key.
    pub fn beside_over_https(&self, ip: &str, tls: &sigward_testpki::TlsServer) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "sigward-registry-{}-{port}-tls",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("server.pem"), &tls.certificate_pem).unwrap();
        std::fs::write(dir.join("server.key"), &tls.key_pem).unwrap();
        let files = (dir.join("server.pem"), dir.join("server.key"));
        Self::spawn(
            &dir,
            &self.dir.join("data"),
            &format!("{ip}:{port}"),
            Some(files),
        )
    }

    fn spawn(
        dir: &std::path::Path,
        data: &std::path::Path,
        address: &str,
        tls: Option<(PathBuf, PathBuf)>,
    ) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let tls_config = match &tls {
            Some((certificate, key)) => format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                certificate.display(),
                key.display()
            ),
            None => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n{tls_config}",
            data.display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let child = Command::new(BINARY)
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start `{BINARY}` ({e}): the end-to-end tests need a real registry; \
                     install Debian's docker-registry package (`.ci/run` does)"
                )
            });
        let server = Self {
            child,
            dir: dir.to_path_buf(),
            address: address.to_owned(),
            tls: tls.is_some(),
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(&self.address) {
                let request = format!("GET /v2/ HTTP/1.0\r\nHost: {}\r\n\r\n", self.address);
                let mut answer = String::new();
                // Over HTTPS, a plain request gets a 400 once it is up.
                if stream.write_all(request.as_bytes()).is_ok()
                    && stream.read_to_string(&mut answer).is_ok()
                    && answer.starts_with("HTTP/1.")
                    && (answer.contains(" 200 ") || self.tls)
                {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the registry at {} did not come up", self.address);
    }
}

impl Drop for RegistryServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// This machine's own address on its default route: not loopback, so a
/// registry there is reached over HTTPS. No packet is sent.
pub fn non_loopback_address() -> std::net::Ipv4Addr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let found = socket
        .connect("192.0.2.1:9")
        .and_then(|()| socket.local_addr())
        .ok()
        .and_then(|a| match a.ip() {
            std::net::IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
            _ => None,
        });
    found.unwrap_or_else(|| {
        panic!("the HTTPS end-to-end test needs a non-loopback IPv4 address on this machine")
    })
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// A server that accepts connections and never answers: a registry that
/// hangs. Runs until the process ends.
pub fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    address
}

/// Reads one request's line and headers (no body); none at the end of the
/// connection.
fn read_request(reader: &mut impl std::io::BufRead) -> Option<(String, Vec<String>)> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            return Some((request_line, headers));
        }
        headers.push(header);
    }
}

/// A registry that answers every request, each after `delay`: a `HEAD` of a
/// manifest with a digest, `GET /v2/` with 200, anything else with a 404
/// `MANIFEST_UNKNOWN`. Each request is answered in time for a per-request
/// deadline longer than `delay`, so only a deadline over all of an image's
/// requests stops it. Runs until the process ends.
pub fn slow_server(delay: Duration) -> String {
    use std::io::BufReader;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                while let Some((request_line, _)) = read_request(&mut reader) {
                    std::thread::sleep(delay);
                    let digest = format!("sha256:{}", "a".repeat(64));
                    let answer = if request_line.starts_with("HEAD ") {
                        format!(
                            "HTTP/1.1 200 OK\r\nDocker-Content-Digest: {digest}\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 0\r\n\r\n"
                        )
                    } else if request_line.starts_with("GET /v2/ ") {
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}".to_owned()
                    } else {
                        let body =
                            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#;
                        format!(
                            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    if stream.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    address
}

/// A hostile registry: a `HEAD` of a manifest names no digest, and a `GET`
/// answers with a body that never ends (chunked), or with a
/// `Content-Length` of `claimed` bytes and then an endless body. It counts
/// the bytes it managed to send in `sent`. Runs until the process ends.
pub fn endless_manifest_server(
    claimed: Option<u64>,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> String {
    use std::io::BufReader;
    use std::sync::atomic::Ordering;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sent = sent.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                while let Some((request_line, _)) = read_request(&mut reader) {
                    if request_line.starts_with("HEAD ") || request_line.starts_with("GET /v2/ ") {
                        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                        continue;
                    }
                    let head = match claimed {
                        Some(length) => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {length}\r\n\r\n"
                        ),
                        None => "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned(),
                    };
                    if stream.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    let block = vec![b' '; 64 * 1024];
                    loop {
                        let written = match claimed {
                            Some(_) => stream.write_all(&block),
                            None => stream
                                .write_all(format!("{:x}\r\n", block.len()).as_bytes())
                                .and_then(|()| stream.write_all(&block))
                                .and_then(|()| stream.write_all(b"\r\n")),
                        };
                        if written.is_err() {
                            return;
                        }
                        sent.fetch_add(block.len() as u64, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    address
}

/// What the token-auth proxy saw: each request line with its
/// `Authorization` header, and each token request's form.
#[derive(Default)]
pub struct ProxyLog {
    pub requests: Vec<(String, Option<String>)>,
    pub token_forms: Vec<String>,
}

/// A registry that demands bearer tokens, in front of `upstream` (a real
/// registry): every `/v2/` request without `Bearer <access>` gets a 401 whose
/// challenge names `/token` on this server as the realm; `POST /token` with
/// `grant_type=refresh_token` and `refresh_token=<refresh>` answers with the
/// access token; anything else gets a 401. Authorized requests are passed to
/// `upstream`. Runs until the process ends.
pub fn token_auth_proxy(
    upstream: String,
    refresh: &'static str,
    access: &'static str,
    log: std::sync::Arc<std::sync::Mutex<ProxyLog>>,
) -> String {
    use std::io::BufReader;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let realm = format!("http://{address}/token");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (upstream, realm, log) = (upstream.clone(), realm.clone(), log.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                let Some((request_line, headers)) = read_request(&mut reader) else {
                    return;
                };
                let value = |name: &str| {
                    headers.iter().find_map(|h| {
                        let (k, v) = h.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_owned())
                    })
                };
                let authorization = value("authorization");
                let length: usize = value("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                log.lock()
                    .unwrap()
                    .requests
                    .push((request_line.trim().to_owned(), authorization.clone()));
                let reply = |stream: &mut TcpStream, status: &str, extra: &str, body: &str| {
                    let _ = stream.write_all(
                        format!(
                            "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    );
                };
                if request_line.starts_with("POST /token") {
                    let form = String::from_utf8_lossy(&body).into_owned();
                    log.lock().unwrap().token_forms.push(form.clone());
                    let fields: Vec<&str> = form.split('&').collect();
                    if fields.contains(&"grant_type=refresh_token")
                        && fields.contains(&format!("refresh_token={refresh}").as_str())
                    {
                        reply(
                            &mut stream,
                            "200 OK",
                            "",
                            &format!(r#"{{"access_token":"{access}"}}"#),
                        );
                    } else {
                        reply(
                            &mut stream,
                            "401 Unauthorized",
                            "",
                            r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
                        );
                    }
                    return;
                }
                if authorization.as_deref() != Some(&format!("Bearer {access}")) {
                    let challenge = format!(
                        "WWW-Authenticate: Bearer realm=\"{realm}\",service=\"test-registry\"\r\n"
                    );
                    reply(
                        &mut stream,
                        "401 Unauthorized",
                        &challenge,
                        r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#,
                    );
                    return;
                }
                // Pass it on, then close: one request per connection.
                let Ok(mut up) = TcpStream::connect(&upstream) else {
                    reply(&mut stream, "502 Bad Gateway", "", "{}");
                    return;
                };
                let mut forwarded = request_line.clone();
                for h in &headers {
                    let name = h
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_ascii_lowercase();
                    if !matches!(name.as_str(), "host" | "connection" | "authorization") {
                        forwarded.push_str(h);
                    }
                }
                forwarded.push_str(&format!("Host: {upstream}\r\nConnection: close\r\n\r\n"));
                let mut answer = Vec::new();
                if up.write_all(forwarded.as_bytes()).is_err()
                    || up.write_all(&body).is_err()
                    || up.read_to_end(&mut answer).is_err()
                {
                    return;
                }
                let _ = stream.write_all(&answer);
            });
        }
    });
    address
}
