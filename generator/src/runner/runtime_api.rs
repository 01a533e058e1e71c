//! A Lambda Runtime API endpoint (the `2018-06-01` interface every custom
//! runtime, `lambda_runtime` included, speaks): the function process asks for
//! its next invocation, then posts the response or the error.
//!
//! One endpoint serves one function process, the way one Lambda execution
//! environment runs one invocation at a time. The HTTP side is a small
//! blocking server on its own threads; `invoke` is async and waits for the
//! process's answer (or the function's timeout).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function's response body.
    Response(Vec<u8>),
    /// The function reported an error (its `errorType: errorMessage`).
    Error(String),
    /// No answer within the timeout.
    Timeout,
    /// The process failed to initialise (its init error) or the endpoint closed.
    Failed(String),
}

struct Pending {
    id: String,
    payload: Vec<u8>,
    deadline_ms: i64,
    reply: oneshot::Sender<Outcome>,
}

struct Shared {
    function_arn: String,
    next: Mutex<mpsc::Receiver<Pending>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<String>>,
}

/// A running endpoint.
pub struct RuntimeApi {
    addr: SocketAddr,
    queue: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    counter: AtomicU64,
}

impl RuntimeApi {
    /// Starts an endpoint on a free port of 127.0.0.1.
    pub fn start(function_arn: &str) -> std::io::Result<RuntimeApi> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(std::io::Error::other)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("no IP address"))?;
        let (tx, rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            function_arn: function_arn.to_string(),
            next: Mutex::new(rx),
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
        });
        let server = Arc::new(server);
        let (srv, sh) = (server.clone(), shared.clone());
        std::thread::Builder::new().name("runtime-api".into()).spawn(move || {
            for request in srv.incoming_requests() {
                let sh = sh.clone();
                // `next` blocks until there is work: one thread per request.
                let _ = std::thread::Builder::new()
                    .name("runtime-api-req".into())
                    .spawn(move || handle(&sh, request));
            }
        })?;
        Ok(RuntimeApi {
            addr,
            queue: tx,
            shared,
            server,
            counter: AtomicU64::new(0),
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The init error the process reported, if any.
    pub fn init_error(&self) -> Option<String> {
        self.shared.init_error.lock().ok().and_then(|e| e.clone())
    }

    /// Queues `payload` for the function process; the receiver gets its
    /// answer. `timeout` sets the deadline the process is told.
    pub fn submit(&self, payload: Vec<u8>, timeout: Duration) -> Result<(String, oneshot::Receiver<Outcome>), Outcome> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08x}-pipegen-local-{n}", std::process::id());
        let (reply, answer) = oneshot::channel();
        let deadline_ms = chrono::Utc::now().timestamp_millis() + timeout.as_millis() as i64;
        self.queue
            .send(Pending {
                id: id.clone(),
                payload,
                deadline_ms,
                reply,
            })
            .map_err(|_| Outcome::Failed("the runtime endpoint is closed".into()))?;
        Ok((id, answer))
    }

    /// Drops an invocation that timed out: a late answer must not complete a
    /// later one.
    pub fn forget(&self, id: &str) {
        if let Ok(mut m) = self.shared.in_flight.lock() {
            m.remove(id);
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn respond(request: tiny_http::Request, status: u16, body: Vec<u8>, headers: Vec<(String, String)>) {
    let mut response = tiny_http::Response::from_data(body).with_status_code(status);
    for (k, v) in headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            response.add_header(h);
        }
    }
    let _ = request.respond(response);
}

fn handle(shared: &Shared, mut request: tiny_http::Request) {
    let url = request.url().to_string();
    let path = url
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_start_matches("/2018-06-01/runtime/");
    let mut body = Vec::new();
    let _ = request.as_reader().read_to_end(&mut body);
    let parts: Vec<&str> = path.split('/').collect();
    match (request.method(), parts.as_slice()) {
        (tiny_http::Method::Get, ["invocation", "next"]) => {
            let pending = match shared.next.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => return respond(request, 500, b"poisoned".to_vec(), vec![]),
            };
            let Ok(p) = pending else {
                return respond(request, 500, b"shutting down".to_vec(), vec![]);
            };
            if let Ok(mut m) = shared.in_flight.lock() {
                m.insert(p.id.clone(), p.reply);
            }
            respond(
                request,
                200,
                p.payload,
                vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Lambda-Runtime-Aws-Request-Id".into(), p.id.clone()),
                    ("Lambda-Runtime-Deadline-Ms".into(), p.deadline_ms.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn".into(),
                        shared.function_arn.clone(),
                    ),
                    ("Lambda-Runtime-Trace-Id".into(), format!("Root=1-{}-pipegen", p.id)),
                ],
            );
        }
        (tiny_http::Method::Post, ["invocation", id, kind @ ("response" | "error")]) => {
            let reply = shared.in_flight.lock().ok().and_then(|mut m| m.remove(*id));
            let outcome = if *kind == "response" {
                Outcome::Response(body)
            } else {
                Outcome::Error(error_text(&body))
            };
            if let Some(reply) = reply {
                let _ = reply.send(outcome);
            }
            respond(request, 202, br#"{"status":"OK"}"#.to_vec(), vec![]);
        }
        (tiny_http::Method::Post, ["init", "error"]) => {
            if let Ok(mut e) = shared.init_error.lock() {
                *e = Some(error_text(&body));
            }
            respond(request, 202, br#"{"status":"OK"}"#.to_vec(), vec![]);
        }
        _ => respond(
            request,
            404,
            format!("pipegen's runtime API has no route {path}").into_bytes(),
            vec![],
        ),
    }
}

/// `errorType: errorMessage` of a Lambda error body, or the body itself.
fn error_text(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => format!(
            "{}: {}",
            v.get("errorType").and_then(|t| t.as_str()).unwrap_or("Error"),
            v.get("errorMessage").and_then(|t| t.as_str()).unwrap_or_default()
        ),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}
