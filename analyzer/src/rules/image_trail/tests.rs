//! The rule over literal pool histories and listings, shaped as the reference shows them.

use super::*;
use crate::facts::ladder::Era;
use crate::facts::reconstruct::LoggedJob;
use crate::facts::{ComputeNode, JobResult};
use crate::input::observations::{Located, LogRecord};
use crate::input::place::Place;
use crate::parsers::image_manifest::ImageManifest;
use crate::parsers::{zfs_list, zpool_history};

const VM: &str = "9185c581-2252-ef4a-8b18-f8787d77e61b";
const IMAGE: &str = "279936e6-5eae-4a87-8a37-dc3e13c36ff9";
const ORIGIN: &str = "2b683a82-a066-11e3-97ab-2faa44701c5a";
const SERVER: &str = "44454c4c-3000-1052-8043-b3c04f485331";
const JOB: &str = "f8c13ee5-3c40-4844-9fb6-096883802461";
const KEYS: [&str; 4] = [
    "image-import-partial-leftover",
    "image-import-race",
    "image-import-transient",
    "image-import-failed",
];

fn place(entry: &str, command: Option<&str>) -> Place {
    Place {
        input: "sdc-support.cn1.tar.bz2".into(),
        entry: entry.into(),
        host: Some(SERVER.into()),
        command: command.map(str::to_string),
        ..Place::default()
    }
}

/// The workflow runner's end-of-job record (node-workflow `lib/runner.js`): the provision
/// job failed at 21:42:41.531Z after `runtime_ms`.
fn job_completed(runtime_ms: i64) -> LogRecord {
    let line = format!(
        r#"{{"name":"workflow-runner","hostname":"wf","pid":1,"job_uuid":"{JOB}","level":40,"job":{{"uuid":"{JOB}","name":"provision-7.0.24","execution":"failed"}},"runtime":{runtime_ms},"msg":"job completed","time":"2014-03-25T21:42:41.531Z","v":0}}"#
    );
    let mut got = Vec::new();
    crate::parsers::service_log::scan_filtered(line.as_bytes(), |_| true, |r, _| got.push(r))
        .expect("scan");
    LogRecord {
        place: place("wf-runner.log", None),
        service: "workflow-runner".into(),
        record: got.pop().expect("one record"),
    }
}

fn facts(history: &str, zfs: &str, runtime_ms: i64) -> Facts {
    let mut node = ComputeNode {
        server_uuid: Some(SERVER.into()),
        ..ComputeNode::default()
    };
    let history = format!("History for 'zones':\n{history}\n");
    node.zpool.push(Located {
        place: place(&format!("{SERVER}/zpool.history"), Some("zpool history")),
        line: None,
        value: zpool_history::parse(history.as_bytes()).expect("history"),
    });
    if !zfs.is_empty() {
        let zfs = format!("NAME USED AVAIL REFER MOUNTPOINT\n{zfs}\n");
        node.zfs.push(Located {
            place: place(&format!("{SERVER}/zfs.list"), Some("zfs list -t all")),
            line: None,
            value: zfs_list::parse(zfs.as_bytes()).expect("zfs list"),
        });
    }
    let mut facts = Facts {
        records: vec![job_completed(runtime_ms)],
        ..Facts::default()
    };
    facts.nodes.insert(Some(SERVER.into()), node);
    facts.image_manifests.push(Located {
        place: place("images.list", Some("sdc-imgapi /images")),
        line: Some(1),
        value: ImageManifest {
            uuid: IMAGE.into(),
            name: Some("Pandarus".into()),
            version: Some("20140325T210902Z".into()),
            origin: Some(ORIGIN.into()),
            state: Some("active".into()),
        },
    });
    facts
}

fn provision(facts: &Facts) -> Provision {
    let record = &facts.records[0];
    Provision {
        id: format!("vm:{VM}"),
        vm_uuid: Some(VM.into()),
        job: None,
        refused: None,
        logged_job: Some(LoggedJob {
            uuid: JOB.into(),
            name: "provision-7.0.24".into(),
            execution: Some("failed".into()),
            linked_by: "time".into(),
            place: record.place.clone(),
            line: record.record.line,
        }),
        era: Era::V70,
        workflow: Some("provision-7.0.24".into()),
        brand: Some("joyent".into()),
        server_uuid: Some(SERVER.into()),
        image_uuid: Some(IMAGE.into()),
        request_id: None,
        created_at: Some("2014-03-25T21:42:20.000Z".into()),
        outcome: JobResult::Failed,
        failure: None,
        ladder: Vec::new(),
        other_jobs: Vec::new(),
        vm_objects: Vec::new(),
    }
}

/// Which key fired, and its finding; else every rule's reason.
fn diagnose(history: &str, zfs: &str) -> Result<Finding, String> {
    diagnose_with(&facts(history, zfs, 20_000), |_| {})
}

fn diagnose_with(facts: &Facts, change: impl FnOnce(&mut Provision)) -> Result<Finding, String> {
    let mut p = provision(facts);
    change(&mut p);
    let mut why = Vec::new();
    for key in KEYS {
        match outcome(facts, &p, key) {
            Outcome::Fired(f) => return Ok(*f),
            Outcome::NotApplicable(w) | Outcome::Skipped(w) => why.push(w),
        }
    }
    Err(why.join(" / "))
}

fn row(name: &str) -> String {
    format!("{name} 1.45G 2.06T 1.81G /{name}")
}

#[test]
fn an_origin_import_running_across_the_failure_is_a_race() {
    // The guide's OS-2203 case: the origin's -partial was in the way.
    let history = format!(
        "2014-03-25.21:41:50 zfs receive zones/{ORIGIN}-partial\n\
         2014-03-25.21:43:20 zfs rename zones/{ORIGIN}-partial zones/{ORIGIN}\n\
         2014-03-25.21:43:30 zfs receive zones/{IMAGE}-partial\n\
         2014-03-25.21:43:40 zfs rename zones/{IMAGE}-partial zones/{IMAGE}"
    );
    let zfs = format!(
        "{}\n{}",
        row(&format!("zones/{ORIGIN}")),
        row(&format!("zones/{IMAGE}"))
    );
    let f = diagnose(&history, &zfs).expect("a diagnosis");
    assert_eq!(f.key, "image-import-race");
    assert_eq!(f.confidence, Confidence::Likely);
    assert!(
        f.summary.contains("cnapi.poll_task_ensure_image"),
        "{}",
        f.summary
    );
    assert!(f.summary.contains(ORIGIN), "{}", f.summary);
    let lines: Vec<Option<u64>> = f
        .evidence
        .iter()
        .filter(|e| e.place.command.as_deref() == Some("zpool history"))
        .map(|e| e.line)
        .collect();
    assert_eq!(
        lines,
        vec![Some(2), Some(3)],
        "the origin's receive and rename"
    );
    assert!(f
        .evidence
        .iter()
        .any(|e| e.excerpt.contains("job completed")));
}

#[test]
fn the_guides_later_import_is_transient() {
    // As in the guide (failed, then imported some ten minutes later).
    let history = format!(
        "2014-03-25.21:55:39 zfs receive zones/{IMAGE}-partial\n\
         2014-03-25.21:55:43 zfs rename zones/{IMAGE}-partial zones/{IMAGE}\n\
         2014-03-25.21:55:44 zfs clone -F -o quota=5g zones/{IMAGE}@final zones/11111111-2252-ef4a-8b18-f8787d77e61b"
    );
    let f = diagnose(&history, &row(&format!("zones/{IMAGE}"))).expect("a diagnosis");
    assert_eq!(f.key, "image-import-transient");
    assert!(f.summary.contains("13 min after"), "{}", f.summary);
}

#[test]
fn a_listed_partial_dataset_is_a_leftover() {
    let history = format!("2014-03-25.21:42:10 zfs receive zones/{ORIGIN}-partial");
    let f = diagnose(&history, &row(&format!("zones/{ORIGIN}-partial"))).expect("a diagnosis");
    assert_eq!(f.key, "image-import-partial-leftover");
    assert!(f
        .evidence
        .iter()
        .any(|e| e.place.command.as_deref() == Some("zfs list -t all")
            && e.excerpt.starts_with(&format!("zones/{ORIGIN}-partial "))));
}

#[test]
fn a_rolled_back_import_of_an_absent_image_failed() {
    let history = format!(
        "2014-03-25.21:42:30 zfs receive zones/{IMAGE}-partial\n\
         2014-03-25.21:42:31 zfs destroy -r zones/{IMAGE}-partial [user 0 (root) on cn1:global]"
    );
    let f = diagnose(&history, &row("zones/archive")).expect("a diagnosis");
    assert_eq!(f.key, "image-import-failed");
    assert!(f
        .evidence
        .iter()
        .any(|e| e.excerpt.contains("zfs destroy -r")));
}

#[test]
fn no_trace_no_diagnosis() {
    // The image is absent and nothing was imported: not enough.
    let history = "2014-03-20.10:00:00 zfs create -o compression=lz4 zones/archive";
    assert!(diagnose(history, &row("zones/archive")).is_err());
    // An import rolled back long before the provision is not its import.
    let old = format!(
        "2014-03-25.20:00:00 zfs receive zones/{IMAGE}-partial\n\
         2014-03-25.20:00:01 zfs destroy -r zones/{IMAGE}-partial"
    );
    assert!(diagnose(&old, &row("zones/archive")).is_err());
}

#[test]
fn past_the_image_step_or_with_the_image_there_is_no_image_failure() {
    // The zone was cloned: the image step was done.
    let cloned = format!(
        "2014-03-25.21:42:25 zfs receive zones/{IMAGE}-partial\n\
         2014-03-25.21:42:26 zfs rename zones/{IMAGE}-partial zones/{IMAGE}\n\
         2014-03-25.21:42:27 zfs clone -F -o quota=5g zones/{IMAGE}@final zones/{VM}"
    );
    let why = diagnose(&cloned, &row(&format!("zones/{IMAGE}"))).expect_err("no diagnosis");
    assert!(why.contains("zone dataset was created"), "{why}");
    // The image was there before the provision started.
    let before = format!(
        "2014-02-01.10:00:00 zfs clone -F -o quota=5g zones/{IMAGE}@final zones/11111111-2252-ef4a-8b18-f8787d77e61b\n\
         2014-03-25.21:43:20 zfs receive zones/{ORIGIN}-partial\n\
         2014-03-25.21:43:21 zfs rename zones/{ORIGIN}-partial zones/{ORIGIN}"
    );
    let why = diagnose(&before, &row(&format!("zones/{IMAGE}"))).expect_err("no diagnosis");
    assert!(why.contains("before the provision started"), "{why}");
}

#[test]
fn a_job_that_ran_out_of_time_or_a_logged_error_is_not_read_from_the_pool() {
    let history = format!(
        "2014-03-25.21:43:20 zfs receive zones/{IMAGE}-partial\n\
         2014-03-25.21:43:21 zfs rename zones/{IMAGE}-partial zones/{IMAGE}"
    );
    let zfs = row(&format!("zones/{IMAGE}"));
    assert_eq!(
        diagnose(&history, &zfs).map(|f| f.key),
        Ok("image-import-race")
    );
    let timed_out = facts(&history, &zfs, 3_811_000);
    let why = diagnose_with(&timed_out, |_| {}).expect_err("a timeout");
    assert!(why.contains("timed out"), "{why}");
    let with_error = facts(&history, &zfs, 20_000);
    let why = diagnose_with(&with_error, |p| {
        p.failure = Some(crate::facts::Failure {
            task: Some("cnapi.poll_task".into()),
            error: "VM.create error: timed out waiting for /var/svc/provisioning".into(),
            code: None,
            started_at: None,
            finished_at: None,
            duration_s: None,
            timeout_s: None,
            place: Place::default(),
            line: None,
        })
    })
    .expect_err("the logged error decides");
    assert!(why.contains("not an image import error"), "{why}");
}

#[test]
fn zpool_stamps_read_back() {
    assert_eq!(
        parse_zpool_stamp("2014-03-25T23:55:39.000Z"),
        "2014-03-25.23:55:39"
    );
    assert_eq!(top_level("zones/abc-partial"), Some("abc-partial"));
    assert_eq!(top_level("zones/abc/root"), None);
    assert_eq!(top_level("zones"), None);
}
