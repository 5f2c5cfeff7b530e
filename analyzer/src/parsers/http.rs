//! Raw output of the `sdc-vmapi`/`sdc-workflow`/... wrappers: curl `-i`, so an HTTP status line and
//! headers, a blank line, then the (pretty-printed) JSON body.
//!
//! ```text
//! HTTP/1.1 200 OK
//! Content-Type: application/json
//! Content-Length: 1234
//! x-request-id: bf4d8930-6832-11e3-9e6c-91d56d6d04e1
//!
//! {
//!   "uuid": "7c992699-6166-42bd-94ba-1de449d20d7e",
//! ...
//! ```

/// A parsed HTTP-wrapped answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAnswer<'a> {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    /// Line number (1-based) of the first body line in the original text.
    pub body_line: u64,
    pub body: &'a str,
}

/// Whether the text starts like an HTTP response.
pub fn looks_like_http(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').starts_with("HTTP/1.") || text.starts_with("HTTP/2")
}

/// Splits HTTP headers from the body; follows `100 Continue` preambles to the final response.
pub fn split(text: &str) -> Option<HttpAnswer<'_>> {
    let mut rest = text.trim_start_matches('\u{feff}');
    let mut line_no: u64 = 1;
    loop {
        let (status_line, after) = rest.split_once('\n')?;
        let mut parts = status_line.trim_end_matches('\r').splitn(3, ' ');
        let proto = parts.next()?;
        if !proto.starts_with("HTTP/") {
            return None;
        }
        let status: u16 = parts.next()?.parse().ok()?;
        let reason = parts.next().unwrap_or("").to_string();
        line_no += 1;
        let mut headers = Vec::new();
        let mut remaining = after;
        loop {
            let (line, next) = match remaining.split_once('\n') {
                Some(pair) => pair,
                None => (remaining, ""),
            };
            let line = line.trim_end_matches('\r');
            remaining = next;
            line_no += 1;
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            if remaining.is_empty() {
                break;
            }
        }
        if (100..200).contains(&status) && looks_like_http(remaining) {
            rest = remaining;
            continue;
        }
        return Some(HttpAnswer {
            status,
            reason,
            headers,
            body_line: line_no,
            body: remaining,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_headers_from_body() {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: bf4d8930-6832-11e3-9e6c-91d56d6d04e1\r\n\r\n{\n  \"uuid\": \"x\"\n}\n";
        let a = split(text).expect("http");
        assert_eq!(a.status, 200);
        assert_eq!(a.body_line, 5);
        assert!(a.body.starts_with('{'));
        assert_eq!(a.headers[1].0, "x-request-id");
    }

    #[test]
    fn error_status_and_continue() {
        let text = "HTTP/1.1 100 Continue\n\nHTTP/1.1 404 Not Found\nContent-Length: 2\n\n{\"code\":\"ResourceNotFound\"}";
        let a = split(text).expect("http");
        assert_eq!(a.status, 404);
        assert!(a.body.contains("ResourceNotFound"));
        assert!(split("{\"a\":1}").is_none());
    }
}
