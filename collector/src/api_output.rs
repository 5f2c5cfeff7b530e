//! Output of the `sdc-vmapi`/`sdc-workflow`/`sdc-cnapi`/... wrappers: curl `-i`, so an HTTP
//! status line, headers, a blank line and the (pretty-printed) JSON body.

use serde_json::Value;

/// One parsed answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiAnswer {
    /// `None` when the output did not start with a status line (curl could not connect, or
    /// `--no-headers` was used).
    pub status: Option<u16>,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body exactly as printed.
    pub body: Vec<u8>,
}

impl ApiAnswer {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        matches!(self.status, Some(200..=299))
    }

    /// A one-line summary of an error answer: `HTTP 404 ResourceNotFound: VM not found`.
    pub fn error_summary(&self) -> String {
        let status = self
            .status
            .map(|s| format!("HTTP {s}"))
            .unwrap_or_else(|| "no HTTP answer".to_string());
        let body = self.json();
        let code = body
            .as_ref()
            .and_then(|b| b.get("code"))
            .and_then(Value::as_str);
        let message = body
            .as_ref()
            .and_then(|b| b.get("message"))
            .and_then(Value::as_str);
        match (code, message) {
            (Some(c), Some(m)) => format!("{status} {c}: {m}"),
            (None, Some(m)) => format!("{status}: {m}"),
            (Some(c), None) => format!("{status} {c}"),
            (None, None) => status,
        }
    }
}

/// Splits the output into status, headers and body. Interim `100 Continue` blocks are skipped;
/// both `\r\n` and `\n` line ends are accepted.
pub fn parse(output: &[u8]) -> ApiAnswer {
    let mut rest = output;
    let mut last_status = None;
    let mut headers = Vec::new();
    while let Some((status, after)) =
        split_line(rest).and_then(|(line, after)| parse_status_line(line).map(|s| (s, after)))
    {
        last_status = Some(status);
        headers.clear();
        rest = after;
        while let Some((line, after)) = split_line(rest) {
            rest = after;
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = std::str::from_utf8(line)
                .ok()
                .and_then(|l| l.split_once(':'))
            {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        if !(100..200).contains(&status) {
            break;
        }
    }
    if last_status.is_none() {
        rest = output;
    }
    ApiAnswer {
        status: last_status,
        headers,
        body: rest.to_vec(),
    }
}

/// The next line without its terminator, and what follows it.
fn split_line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    if data.is_empty() {
        return None;
    }
    let end = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let line = &data[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = data.get(end + 1..).unwrap_or(&[]);
    Some((line, rest))
}

/// `HTTP/1.1 200 OK` or `HTTP/2 404` → the status code.
fn parse_status_line(line: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split_whitespace();
    if !words.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = words.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers_and_pretty_body() {
        let out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: abc\r\n\r\n{\n  \"uuid\": \"x\"\n}\n";
        let a = parse(out);
        assert_eq!(a.status, Some(200));
        assert_eq!(a.header("X-Request-Id"), Some("abc"));
        assert_eq!(a.json().expect("json")["uuid"], "x");
        assert!(a.is_success());
    }

    #[test]
    fn parses_lf_only_and_error_bodies() {
        let out = b"HTTP/1.1 404 Not Found\nContent-Type: application/json\n\n{\"code\":\"ResourceNotFound\",\"message\":\"VM not found\"}";
        let a = parse(out);
        assert_eq!(a.status, Some(404));
        assert!(!a.is_success());
        assert_eq!(a.error_summary(), "HTTP 404 ResourceNotFound: VM not found");
    }

    #[test]
    fn skips_continue_blocks() {
        let out =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /jobs/1\r\n\r\n{}";
        let a = parse(out);
        assert_eq!(a.status, Some(201));
        assert_eq!(a.header("location"), Some("/jobs/1"));
        assert_eq!(a.body, b"{}");
    }

    #[test]
    fn output_without_status_is_all_body() {
        let a = parse(b"{\"a\": 1}\n");
        assert_eq!(a.status, None);
        assert_eq!(a.json().expect("json")["a"], 1);
        let a = parse(b"curl: (7) Failed to connect to 10.0.0.1 port 80: Connection refused\n");
        assert_eq!(a.status, None);
        assert!(a.json().is_none());
        assert_eq!(parse(b"").status, None);
    }

    #[test]
    fn headers_only_answer_has_empty_body() {
        let a = parse(b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n");
        assert_eq!(a.status, Some(204));
        assert!(a.body.is_empty());
    }
}
