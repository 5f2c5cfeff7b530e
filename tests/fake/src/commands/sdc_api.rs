//! The shared shape of `sdc-vmapi`, `sdc-workflow`, `sdc-cnapi`, `sdc-imgapi` and `sdc-napi`:
//! `sdc-X [--no-headers] PATH [EXTRA-CURL-ARGS]` (sdc-sdc `bin/sdc-*`, `lib/libdc.sh`).

use crate::http::{self, Response, Service};
use crate::reply::Reply;
use crate::sim::Sim;

/// One API wrapper: its service description, usage text and router.
pub struct Api {
    pub command: &'static str,
    pub service: Service,
    /// What the wrapper prints (on stdout, exit 1) when no PATH is given.
    pub usage: &'static str,
    /// Answers a GET.
    pub route: fn(&Sim, &Request) -> Response,
}

/// A parsed request URL.
pub struct Request {
    /// The path as given (without the query), for error messages.
    pub path: String,
    /// Percent-decoded path segments (`/vms/x/jobs` → `["vms", "x", "jobs"]`).
    pub segments: Vec<String>,
    /// Percent-decoded query pairs in order.
    pub query: Vec<(String, String)>,
}

impl Request {
    pub fn parse(url_path: &str) -> Request {
        let (path, query) = url_path.split_once('?').unwrap_or((url_path, ""));
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Request {
            path: path.to_string(),
            segments,
            query,
        }
    }

    /// The last value of a query parameter.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Segments as `&str`, for matching.
    pub fn parts(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }
}

/// Runs one wrapper invocation.
pub fn run(sim: &Sim, api: &Api, args: &[String]) -> Reply {
    if !sim.on_headnode() {
        return Reply::not_found(api.command);
    }
    let mut rest = args;
    let mut no_headers = false;
    // sdc-imgapi takes `-v` (echo the curl command) where the others take `--no-headers`; both
    // are accepted here.
    while let Some(first) = rest.first() {
        match first.as_str() {
            "--no-headers" => no_headers = true,
            "-v" if api.command == "sdc-imgapi" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    let Some(url_path) = rest.first().filter(|p| !p.is_empty()) else {
        return Reply {
            status: 1,
            ..Reply::ok(api.usage)
        };
    };
    let method = curl_method(&rest[1..]);
    let host = format!("{}.{}.example.com", api.service.name, sim.state.datacenter);

    if !url_path.starts_with('/') {
        return Reply::error(
            6,
            format!("curl: (6) Could not resolve host: {host}{url_path}\n"),
        );
    }
    if sim
        .state
        .api
        .unavailable
        .iter()
        .any(|s| s == api.service.name)
    {
        return Reply::error(
            7,
            format!("curl: (7) Failed to connect to {host} port 80: Connection refused\n"),
        );
    }
    let request = Request::parse(url_path);
    let response = match method.as_str() {
        "GET" | "HEAD" => (api.route)(sim, &request),
        other => Response::method_not_allowed(other),
    };
    let text = http::render(
        sim,
        &api.service,
        &request.path,
        &response,
        no_headers,
        method == "HEAD",
    );
    Reply::ok(text)
}

/// The HTTP method curl would use for these extra arguments.
fn curl_method(extra: &[String]) -> String {
    let mut method: Option<String> = None;
    let mut implied = "GET";
    let mut i = 0;
    while i < extra.len() {
        let arg = extra[i].as_str();
        i += 1;
        if arg == "-X" || arg == "--request" {
            if let Some(m) = extra.get(i) {
                method = Some(m.to_ascii_uppercase());
                i += 1;
            }
        } else if let Some(m) = arg.strip_prefix("--request=") {
            method = Some(m.to_ascii_uppercase());
        } else if let Some(m) = arg.strip_prefix("-X") {
            method = Some(m.to_ascii_uppercase());
        } else if arg == "-I" || arg == "--head" {
            implied = "HEAD";
        } else if arg == "-T" || arg == "--upload-file" {
            implied = "PUT";
            i += 1;
        } else if arg.starts_with("-d")
            || arg.starts_with("--data")
            || arg == "-F"
            || arg == "--form"
        {
            if implied == "GET" {
                implied = "POST";
            }
            if arg == "-d"
                || arg == "-F"
                || arg.starts_with("--data") && !arg.contains('=')
                || arg == "--form"
            {
                i += 1;
            }
        }
    }
    method.unwrap_or_else(|| implied.to_string())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn methods() {
        assert_eq!(curl_method(&strings(&[])), "GET");
        assert_eq!(curl_method(&strings(&["-X", "GET"])), "GET");
        assert_eq!(curl_method(&strings(&["-XPOST"])), "POST");
        assert_eq!(curl_method(&strings(&["-d", "{}"])), "POST");
        assert_eq!(curl_method(&strings(&["--request=delete"])), "DELETE");
    }

    #[test]
    fn request_parsing() {
        let r = Request::parse("/jobs?vm_uuid=a%2Db&execution=failed");
        assert_eq!(r.parts(), vec!["jobs"]);
        assert_eq!(r.query("vm_uuid"), Some("a-b"));
        assert_eq!(r.query("execution"), Some("failed"));
    }
}
