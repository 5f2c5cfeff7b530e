//! Bunyan JSON records in node-bunyan's field order: `name, hostname, pid, [component and other
//! child-logger fields], level, <record fields>, msg, time, v` (node-bunyan builds the record
//! object in that order and `JSON.stringify` keeps insertion order).

use serde_json::Value;

use crate::clock::{self, Ms};

pub const TRACE: u8 = 10;
pub const DEBUG: u8 = 20;
pub const INFO: u8 = 30;
pub const WARN: u8 = 40;
pub const ERROR: u8 = 50;
pub const FATAL: u8 = 60;

/// A bunyan logger: the fixed part of every record it writes.
#[derive(Debug, Clone)]
pub struct Logger {
    pub name: String,
    pub hostname: String,
    pub pid: u32,
    /// Fields of child loggers (`component`, `req_id`, `job_uuid`, ...), before `level`.
    pub child: Vec<(String, Value)>,
}

impl Logger {
    pub fn new(name: &str, hostname: &str, pid: u32) -> Logger {
        Logger {
            name: name.to_string(),
            hostname: hostname.to_string(),
            pid,
            child: Vec::new(),
        }
    }

    /// A child logger with one more field.
    pub fn child(&self, key: &str, value: impl Into<Value>) -> Logger {
        let mut out = self.clone();
        out.child.push((key.to_string(), value.into()));
        out
    }

    /// One record as a line (no newline).
    pub fn rec(&self, level: u8, t: Ms, fields: &[(&str, Value)], msg: &str) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"name\":");
        push_json_str(&mut out, &self.name);
        out.push_str(",\"hostname\":");
        push_json_str(&mut out, &self.hostname);
        out.push_str(",\"pid\":");
        out.push_str(&self.pid.to_string());
        for (key, value) in &self.child {
            push_field(&mut out, key, value);
        }
        out.push_str(",\"level\":");
        out.push_str(&level.to_string());
        for (key, value) in fields {
            push_field(&mut out, key, value);
        }
        out.push_str(",\"msg\":");
        push_json_str(&mut out, msg);
        out.push_str(",\"time\":\"");
        clock::push_iso_ms(&mut out, t);
        out.push_str("\",\"v\":0}");
        out
    }

    pub fn info(&self, t: Ms, fields: &[(&str, Value)], msg: &str) -> String {
        self.rec(INFO, t, fields, msg)
    }

    pub fn debug(&self, t: Ms, fields: &[(&str, Value)], msg: &str) -> String {
        self.rec(DEBUG, t, fields, msg)
    }

    pub fn warn(&self, t: Ms, fields: &[(&str, Value)], msg: &str) -> String {
        self.rec(WARN, t, fields, msg)
    }

    pub fn error(&self, t: Ms, fields: &[(&str, Value)], msg: &str) -> String {
        self.rec(ERROR, t, fields, msg)
    }
}

fn push_field(out: &mut String, key: &str, value: &Value) {
    out.push(',');
    push_json_str(out, key);
    out.push(':');
    out.push_str(&value.to_string());
}

pub fn push_json_str(out: &mut String, s: &str) {
    out.push_str(&Value::String(s.to_string()).to_string());
}

/// A bunyan `err` field: `{message, name, stack}` (the stack's first line repeats name and message).
pub fn err_field(name: &str, message: &str, frames: &[&str]) -> Value {
    let mut stack = format!("{name}: {message}");
    for frame in frames {
        stack.push_str("\n    at ");
        stack.push_str(frame);
    }
    serde_json::json!({ "message": message, "name": name, "stack": stack })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_order_matches_node_bunyan() {
        let log = Logger::new("vmapi", "host", 42).child("component", "heartbeater");
        let line = log.info(0, &[("vm_uuid", Value::from("x"))], "hello");
        assert_eq!(
            line,
            "{\"name\":\"vmapi\",\"hostname\":\"host\",\"pid\":42,\"component\":\"heartbeater\",\
             \"level\":30,\"vm_uuid\":\"x\",\"msg\":\"hello\",\"time\":\"1970-01-01T00:00:00.000Z\",\"v\":0}"
        );
    }
}
