//! Restify audit records (`handled: <status>`), the one record per request every Triton API
//! writes through its audit logger, plus the restify error body shape.

use serde_json::{json, Value};

use super::bunyan::Logger;
use crate::clock::{self, Ms};

/// One request as the audit logger sees it.
pub struct Request<'a> {
    pub req_id: &'a str,
    pub method: &'a str,
    pub url: &'a str,
    pub remote: &'a str,
    pub remote_port: u16,
    pub user_agent: &'a str,
    pub status: u16,
    pub latency_ms: i64,
    /// Response body (logged for errors only, as restify does by default).
    pub body: Option<Value>,
    /// Serialized error for 4xx/5xx.
    pub err: Option<Value>,
}

/// The audit record, logged when the response has been sent (`t` = request start + latency).
pub fn audit(log: &Logger, t: Ms, r: &Request) -> String {
    let audit_log = log.child("audit", true);
    let start = t - r.latency_ms;
    let mut req_headers = json!({
        "accept": "application/json",
        "user-agent": r.user_agent,
        "x-request-id": r.req_id,
        "host": "vmapi.local",
        "connection": "keep-alive",
    });
    if r.method == "POST" || r.method == "PUT" {
        req_headers["content-type"] = json!("application/json");
    }
    let mut res = json!({
        "statusCode": r.status,
        "headers": {
            "content-type": "application/json",
            "date": clock::http_date(t),
            "server": log.name,
            "x-request-id": r.req_id,
            "x-response-time": r.latency_ms,
            "x-server-name": log.hostname,
        },
        "trailer": false,
    });
    if let Some(body) = &r.body {
        res["body"] = body.clone();
    }
    let mut fields: Vec<(&str, Value)> = vec![
        ("remoteAddress", json!(r.remote)),
        ("remotePort", json!(r.remote_port)),
        ("req_id", json!(r.req_id)),
        (
            "req",
            json!({
                "query": {},
                "method": r.method,
                "url": r.url,
                "headers": req_headers,
                "httpVersion": "1.1",
                "trailers": {},
                "version": "*",
                "timers": {
                    "parseAccept": 12, "parseAuthorization": 3, "parseDate": 2,
                    "parseQueryString": 14, "bunyan": 40, "readBody": 305, "parseBody": 51,
                },
                "time": start,
            }),
        ),
        ("res", res),
    ];
    if let Some(err) = &r.err {
        fields.push(("err", err.clone()));
    }
    fields.push(("latency", json!(r.latency_ms)));
    fields.push(("secure", json!(false)));
    fields.push(("_audit", json!(true)));
    audit_log.info(t, &fields, &format!("handled: {}", r.status))
}

/// A restify error as a client stores it in a job (`statusCode` keeps it unreduced) and as the
/// server sends it (`body`).
pub fn client_error(status: u16, rest_code: &str, message: &str) -> Value {
    json!({
        "message": message,
        "statusCode": status,
        "body": { "code": rest_code, "message": message },
        "restCode": rest_code,
        "name": format!("{}Error", rest_code.trim_end_matches("Error")),
    })
}
