//! The time window logs are selected for: made from the jobs, or given on the command line.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::timespec::{rfc3339, TimeSpec};

/// How far before a job's creation and after its end the window reaches: clocks differ between
/// hosts, and the cause of a failure often precedes the job (an agent restarting, an import).
pub const JOB_MARGIN: SignedDuration = SignedDuration::from_mins(15);

/// How far back the collector looks when no scope and no window are given.
pub const DEFAULT_LOOKBACK: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeWindow {
    pub since: Timestamp,
    pub until: Timestamp,
    /// For the manifest: how the window was made.
    pub derived_from: String,
}

impl TimeWindow {
    pub fn contains(&self, ts: Timestamp) -> bool {
        self.since <= ts && ts <= self.until
    }

    /// Whether `[start, end]` overlaps the window.
    pub fn overlaps(&self, start: Timestamp, end: Timestamp) -> bool {
        start <= self.until && end >= self.since
    }

    pub fn to_manifest(&self) -> triton_bundle::manifest::Window {
        triton_bundle::manifest::Window {
            since: rfc3339(self.since),
            until: rfc3339(self.until),
            derived_from: self.derived_from.clone(),
        }
    }
}

/// When a job started and ended, as far as the job object tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSpan {
    pub created: Timestamp,
    pub end: Timestamp,
}

/// Reads a job's span: `created_at` to `created_at + elapsed`; without `elapsed` (the trimmed
/// VMAPI view, or a job still running) the latest `finished_at` of its results; failing that,
/// `now` for a job still queued or running and `created_at` otherwise.
pub fn job_span(job: &Value, now: Timestamp) -> Option<JobSpan> {
    let created: Timestamp = job.get("created_at")?.as_str()?.parse().ok()?;
    let from_elapsed = job
        .get("elapsed")
        .and_then(Value::as_f64)
        .filter(|e| e.is_finite() && *e >= 0.0)
        .and_then(|e| {
            created
                .checked_add(SignedDuration::from_millis((e * 1000.0) as i64))
                .ok()
        });
    let from_results = ["chain_results", "onerror_results", "oncancel_results"]
        .iter()
        .filter_map(|k| job.get(*k)?.as_array())
        .flatten()
        .filter_map(|r| r.get("finished_at")?.as_str()?.parse::<Timestamp>().ok())
        .max();
    let running = matches!(
        job.get("execution").and_then(Value::as_str),
        Some("queued" | "running" | "waiting")
    );
    let end = match (from_elapsed, from_results) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) if running => now,
        (None, None) => created,
    };
    Some(JobSpan {
        created,
        end: end.max(created),
    })
}

/// The window covering every job span, widened by `margin` on both sides (one interval: the
/// manifest records one window, and gaps between jobs are usually short).
pub fn window_from_spans(
    spans: &[JobSpan],
    margin: SignedDuration,
) -> Option<(Timestamp, Timestamp)> {
    let since = spans.iter().map(|s| s.created).min()?;
    let until = spans.iter().map(|s| s.end).max()?;
    Some((
        since.checked_sub(margin).unwrap_or(since),
        until.checked_add(margin).unwrap_or(until),
    ))
}

/// What the command line said about the window.
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowArgs {
    pub since: Option<TimeSpec>,
    pub until: Option<TimeSpec>,
    pub last: Option<SignedDuration>,
}

/// Chooses the window: the command line overrides the jobs; with neither, the last 24 hours.
pub fn choose(args: &WindowArgs, spans: &[JobSpan], now: Timestamp) -> Result<TimeWindow, String> {
    let from_jobs = window_from_spans(spans, JOB_MARGIN);
    let window = if let Some(last) = args.last {
        TimeWindow {
            since: now.checked_sub(last).unwrap_or(Timestamp::MIN),
            until: now,
            derived_from: format!("--last {}", crate::window::describe(last)),
        }
    } else if args.since.is_some() || args.until.is_some() {
        let since = match (args.since, from_jobs) {
            (Some(s), _) => s.resolve(now),
            (None, Some((s, _))) => s,
            (None, None) => now.checked_sub(DEFAULT_LOOKBACK).unwrap_or(Timestamp::MIN),
        };
        let until = match (args.until, from_jobs) {
            (Some(u), _) => u.resolve(now),
            (None, Some((_, u))) => u,
            (None, None) => now,
        };
        let mut made = Vec::new();
        if args.since.is_some() {
            made.push("--since");
        }
        if args.until.is_some() {
            made.push("--until");
        }
        let rest = if from_jobs.is_some() {
            " (rest from the jobs)"
        } else {
            ""
        };
        TimeWindow {
            since,
            until,
            derived_from: format!("{}{rest}", made.join(" and ")),
        }
    } else if let Some((since, until)) = from_jobs {
        TimeWindow {
            since,
            until,
            derived_from: format!(
                "jobs: created_at - {m} .. created_at + elapsed + {m}, union over {n} job(s)",
                m = describe(JOB_MARGIN),
                n = spans.len()
            ),
        }
    } else {
        TimeWindow {
            since: now.checked_sub(DEFAULT_LOOKBACK).unwrap_or(Timestamp::MIN),
            until: now,
            derived_from: "default: last 24 hours".to_string(),
        }
    };
    if window.since > window.until {
        return Err(format!(
            "the time window is empty: {} is after {}",
            rfc3339(window.since),
            rfc3339(window.until)
        ));
    }
    Ok(window)
}

/// `15m`, `2h`, `1h30m`.
pub fn describe(d: SignedDuration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn span_uses_elapsed_and_results() {
        let now = ts("2024-01-18T12:00:00Z");
        let job = json!({"created_at": "2024-01-18T04:00:00.000Z", "elapsed": 451.523,
                         "execution": "failed"});
        let span = job_span(&job, now).expect("span");
        assert_eq!(span.end, ts("2024-01-18T04:07:31.523Z"));

        let trimmed = json!({"created_at": "2024-01-18T04:00:00Z", "execution": "failed",
            "chain_results": [{"finished_at": "2024-01-18T04:02:00Z"},
                              {"finished_at": "2024-01-18T04:05:00Z"}]});
        assert_eq!(
            job_span(&trimmed, now).expect("span").end,
            ts("2024-01-18T04:05:00Z")
        );

        let running = json!({"created_at": "2024-01-18T04:00:00Z", "execution": "running"});
        assert_eq!(job_span(&running, now).expect("span").end, now);
        assert!(job_span(&json!({"uuid": "x"}), now).is_none());
    }

    #[test]
    fn window_is_the_union_widened_by_the_margin() {
        let spans = [
            JobSpan {
                created: ts("2024-01-18T04:00:00Z"),
                end: ts("2024-01-18T04:10:00Z"),
            },
            JobSpan {
                created: ts("2024-01-18T02:00:00Z"),
                end: ts("2024-01-18T02:01:00Z"),
            },
        ];
        let w = choose(&WindowArgs::default(), &spans, ts("2024-01-19T00:00:00Z")).expect("window");
        assert_eq!(w.since, ts("2024-01-18T01:45:00Z"));
        assert_eq!(w.until, ts("2024-01-18T04:25:00Z"));
        assert!(w.derived_from.starts_with("jobs:"), "{}", w.derived_from);
    }

    #[test]
    fn command_line_overrides_jobs() {
        let now = ts("2024-01-19T00:00:00Z");
        let spans = [JobSpan {
            created: ts("2024-01-18T04:00:00Z"),
            end: ts("2024-01-18T04:10:00Z"),
        }];
        let args = WindowArgs {
            last: Some(SignedDuration::from_hours(2)),
            ..Default::default()
        };
        let w = choose(&args, &spans, now).expect("window");
        assert_eq!(w.since, ts("2024-01-18T22:00:00Z"));
        assert_eq!(w.until, now);

        let args = WindowArgs {
            since: Some(TimeSpec::Absolute(ts("2024-01-18T03:00:00Z"))),
            ..Default::default()
        };
        let w = choose(&args, &spans, now).expect("window");
        assert_eq!(w.since, ts("2024-01-18T03:00:00Z"));
        assert_eq!(
            w.until,
            ts("2024-01-18T04:25:00Z"),
            "until still from the jobs"
        );

        let args = WindowArgs {
            since: Some(TimeSpec::Absolute(ts("2024-01-18T05:00:00Z"))),
            until: Some(TimeSpec::Absolute(ts("2024-01-18T04:00:00Z"))),
            last: None,
        };
        assert!(choose(&args, &spans, now).is_err());
    }

    #[test]
    fn default_is_last_day() {
        let now = ts("2024-01-19T00:00:00Z");
        let w = choose(&WindowArgs::default(), &[], now).expect("window");
        assert_eq!(w.since, ts("2024-01-18T00:00:00Z"));
        assert_eq!(w.derived_from, "default: last 24 hours");
    }
}
