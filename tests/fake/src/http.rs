//! HTTP answers of the Triton APIs as `sdc-<api>` prints them.
//!
//! The real wrappers (sdc-sdc `bin/sdc-vmapi`, `lib/libdc.sh`) run `curl -sS -i` and pipe the
//! result through `json -q`, which passes the header block through untouched (CRLF line ends,
//! blank line) and re-prints the body as 2-space JSON. The servers are restify 4 apps that add
//! `Date`, `Server`, `x-request-id`, `x-response-time` and `x-server-name` in an on-header hook.

use jiff::Timestamp;
use serde_json::{json, Value};

use crate::jsonfmt;
use crate::sim::Sim;

/// One Triton API as seen through its `sdc-*` wrapper.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// Short name used in `api.unavailable` and in the DNS name (`vmapi`, `workflow`, ...).
    pub name: &'static str,
    /// The `smartdc_role` tag of its core zone (whose uuid is the `x-server-name`).
    pub role: &'static str,
    /// `Server` header: restify's `name` option of that API.
    pub server: &'static str,
    /// node-workflow uses restify's `fullResponse()` plugin, which adds CORS and
    /// `Request-Id`/`Response-Time` headers and says `Connection: Keep-Alive`.
    pub full_response: bool,
}

/// A response: status, body and any extra headers.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Response {
    pub fn ok(body: Value) -> Response {
        Response {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    /// A restify error body `{"code": ..., "message": ...}`.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Response {
        Response {
            status,
            body: json!({"code": code, "message": message.into()}),
            headers: Vec::new(),
        }
    }

    /// restify's answer for a URL no route matches.
    pub fn no_route(path: &str) -> Response {
        Response::error(404, "ResourceNotFound", format!("{path} does not exist"))
    }

    /// restify's answer for a route that exists with other methods (this fake serves GET only).
    pub fn method_not_allowed(method: &str) -> Response {
        let mut r = Response::error(
            405,
            "MethodNotAllowedError",
            format!("{method} is not allowed"),
        );
        r.headers
            .push(("Allow".to_string(), "GET, HEAD".to_string()));
        r
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// The standard reason phrase of a status code, as node's `http.STATUS_CODES`.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "Unknown",
    }
}

/// Renders what the wrapper prints: header block (unless `no_headers`) and the pretty body.
/// `head_only` is a HEAD request: headers, no body.
pub fn render(
    sim: &Sim,
    service: &Service,
    path: &str,
    resp: &Response,
    no_headers: bool,
    head_only: bool,
) -> String {
    let wire_body = jsonfmt::compact(&resp.body);
    let mut out = String::new();
    if !no_headers {
        out.push_str(&header_block(sim, service, path, resp, wire_body.len()));
    }
    if !head_only {
        out.push_str(&jsonfmt::pretty(&resp.body));
    }
    out
}

fn header_block(
    sim: &Sim,
    service: &Service,
    path: &str,
    resp: &Response,
    content_length: usize,
) -> String {
    let seed = format!("{}:{}:{}", service.name, path, sim.state.now);
    let request_id = stable_uuid(&seed);
    let response_time = 3 + stable_hash(&seed) % 40;
    let date = http_date(sim.now().ok());
    let mut headers: Vec<(String, String)> = vec![
        ("Content-Type".into(), "application/json".into()),
        ("Content-Length".into(), content_length.to_string()),
    ];
    if service.full_response {
        headers.push(("Access-Control-Allow-Origin".into(), "*".into()));
        headers.push((
            "Access-Control-Allow-Headers".into(),
            "Accept, Accept-Version, Content-Length, Content-MD5, Content-Type, Date, Api-Version, Response-Time".into(),
        ));
        headers.push(("Access-Control-Allow-Methods".into(), "GET, HEAD".into()));
        headers.push((
            "Access-Control-Expose-Headers".into(),
            "Api-Version, Request-Id, Response-Time".into(),
        ));
    }
    headers.extend(resp.headers.iter().cloned());
    headers.push(("Date".into(), date));
    headers.push(("Server".into(), service.server.into()));
    if service.full_response {
        headers.push(("Request-Id".into(), request_id.clone()));
        headers.push(("Response-Time".into(), response_time.to_string()));
    }
    headers.push(("x-request-id".into(), request_id));
    headers.push(("x-response-time".into(), response_time.to_string()));
    headers.push(("x-server-name".into(), server_name(sim, service)));
    let connection = if service.full_response {
        "Keep-Alive"
    } else {
        "keep-alive"
    };
    headers.push(("Connection".into(), connection.into()));

    let mut block = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (name, value) in headers {
        block.push_str(&format!("{name}: {value}\r\n"));
    }
    block.push_str("\r\n");
    block
}

/// The uuid (= hostname) of the API's core zone on the headnode, or a stable stand-in.
fn server_name(sim: &Sim, service: &Service) -> String {
    sim.state
        .headnode
        .vms
        .iter()
        .find(|vm| {
            jsonfmt::lookup(vm, "tags.smartdc_role").and_then(Value::as_str) == Some(service.role)
        })
        .and_then(|vm| vm.get("uuid").and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| stable_uuid(&format!("zone:{}", service.role)))
}

/// RFC 7231 date (`Thu, 18 Jan 2024 10:00:00 GMT`) of the simulated now.
fn http_date(now: Option<Timestamp>) -> String {
    now.unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// FNV-1a: a stable hash so repeated runs print the same request ids.
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A version-4-shaped uuid derived from `text`.
pub fn stable_uuid(text: &str) -> String {
    let a = stable_hash(text);
    let b = stable_hash(&format!("{text}#"));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape_is_stable() {
        let u = stable_uuid("x");
        assert_eq!(u, stable_uuid("x"));
        assert_ne!(u, stable_uuid("y"));
        let parts: Vec<usize> = u.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert!(u.as_bytes()[14] == b'4');
    }

    #[test]
    fn date_format() {
        let t: Timestamp = "2024-01-18T10:00:05Z".parse().unwrap();
        assert_eq!(http_date(Some(t)), "Thu, 18 Jan 2024 10:00:05 GMT");
    }
}
