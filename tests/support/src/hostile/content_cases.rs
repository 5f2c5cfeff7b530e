//! Content-level hostile inputs: well-formed bundles whose files lie, overflow, nest, mistype or
//! carry markup.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::archive::{gzip, tar_bytes, write_file, write_member, Member};
use super::bundle::*;
use super::deflate::gzip_repeat;
use super::{Cases, Outcome};

/// An unpacked bundle (a directory) holding `files`, plus the stamp and the default manifest when
/// not given.
fn dir_bundle(root: &Path, files: &[(&str, &[u8])]) -> io::Result<()> {
    let mut all: Vec<(String, Vec<u8>)> = vec![
        (
            "bundle-format.json".into(),
            format_stamp("1.1").into_bytes(),
        ),
        ("manifest.json".into(), default_manifest().into_bytes()),
        (
            JOB_PATH.into(),
            failed_job("VM.create error: timed out").into_bytes(),
        ),
    ];
    for (rel, data) in files {
        all.retain(|(r, _)| r != rel);
        all.push((rel.to_string(), data.to_vec()));
    }
    for (rel, data) in all {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().expect("a file has a parent"))?;
        fs::write(path, data)?;
    }
    Ok(())
}

fn bundle_dir(
    cases: &mut Cases,
    name: &'static str,
    files: &[(&str, &[u8])],
) -> io::Result<PathBuf> {
    let root = cases.input(name, TOP)?;
    fs::create_dir_all(&root)?;
    dir_bundle(&root, files)?;
    Ok(root)
}

fn job_case(cases: &mut Cases, name: &'static str, job: &str, outcome: Outcome) -> io::Result<()> {
    let root = bundle_dir(cases, name, &[(JOB_PATH, job.as_bytes())])?;
    cases.push(name, vec![root], outcome);
    Ok(())
}

fn log_case(cases: &mut Cases, name: &'static str, log: &[u8], outcome: Outcome) -> io::Result<()> {
    let root = bundle_dir(cases, name, &[(&vmapi_log_path(), log)])?;
    cases.push(name, vec![root], outcome);
    cases.last().logs = true;
    Ok(())
}

/// A gzipped bundle whose vmapi log holds one line of `fill` bytes between two ordinary records.
/// The fill is a gzip member of one repeated byte (kilobytes on disk), between members holding the
/// tar headers and the rest: a multi-member gzip file reads as one stream.
fn write_long_line_bundle(path: &Path, fill: u64) -> io::Result<()> {
    let head = format!(
        "{}{}",
        record("30", T, "before the long line"),
        r#"{"name":"vmapi","level":50,"msg":""#
    );
    let tail = format!(
        "\",\"vm_uuid\":\"{VM}\",\"time\":{T},\"v\":0}}\n{}",
        record("50", T, "after the long line")
    );
    let size = head.len() as u64 + fill + tail.len() as u64;
    let mut members = bundle_members(vec![]);
    let manifest = members.pop().expect("the manifest is the last member");
    let mut before = Vec::new();
    for member in &members {
        write_member(&mut before, member)?;
    }
    let mut log = Member::file(in_bundle(vmapi_log_path().as_bytes()), Vec::new());
    log.declared = Some(size);
    write_member(&mut before, &log)?;
    before.extend_from_slice(head.as_bytes());
    let mut after = tail.into_bytes();
    after.resize(after.len() + (size.div_ceil(512) * 512 - size) as usize, 0);
    write_member(&mut after, &manifest)?;
    after.extend_from_slice(&[0; 1024]);

    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(&gzip(&before))?;
    gzip_repeat(&mut out, b"A", fill)?;
    out.write_all(&gzip(&after))?;
    out.flush()
}

fn record(level: &str, time: &str, msg: &str) -> String {
    format!("{}\n", vmapi_record(level, time, msg))
}

const T: &str = "\"2013-12-18T22:23:00.000Z\"";

pub fn add(cases: &mut Cases) -> io::Result<()> {
    use Outcome::{Partial, Refused};
    // A 200 MB line, after one ordinary record (so the file is recognized as a bunyan log).
    let path = cases.input("line-200mb", "bundle.tar.gz")?;
    write_long_line_bundle(&path, 200 << 20)?;
    cases.push("line-200mb", vec![path], Partial(JOB));
    cases.last().logs = true;

    let mut bad = record("50", T, "invalid \u{fffd} here").into_bytes();
    let at = bad
        .windows(3)
        .position(|w| w == "\u{fffd}".as_bytes())
        .expect("marker");
    bad.splice(at..at + 3, [0xff, 0xfe, 0xc0, 0x80]);
    bad.extend_from_slice(b"\xff\xff not even json \xc3\x28\n");
    log_case(cases, "log-invalid-utf8", &bad, Partial(JOB))?;

    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    job_case(
        cases,
        "json-array-100k-deep",
        &deep,
        Partial("recursion limit"),
    )?;
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    job_case(
        cases,
        "json-object-100k-deep",
        &deep_obj,
        Partial("recursion limit"),
    )?;
    let mut deep_log = record("50", T, "before deep");
    deep_log.push_str(&format!(
        "{{\"name\":\"vmapi\",\"level\":50,\"time\":{T},\"v\":0,\"msg\":\"deep\",\"x\":{}1{}}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    ));
    log_case(
        cases,
        "log-record-100k-deep",
        deep_log.as_bytes(),
        Partial(JOB),
    )?;

    let overflow = failed_job("overflow")
        .replace("\"elapsed\":451.523", "\"elapsed\":1e999999")
        .replace("\"timeout\":3810", "\"timeout\":184467440737095516160000");
    job_case(cases, "numbers-overflow", &overflow, Partial(JOB))?;
    let log = record("99999999999999999999999", "1e400", "huge level and time");
    log_case(cases, "log-numbers-overflow", log.as_bytes(), Partial(JOB))?;

    let chain_string =
        failed_job("x").replace("\"chain_results\":[", "\"chain_results\":\"oops\",\"x\":[");
    job_case(
        cases,
        "job-chain-results-string",
        &chain_string,
        Partial(JOB_PATH),
    )?;
    let wrong = r#"{"uuid":5,"name":["provision"],"execution":{},"params":"vm","chain":{},"chain_results":[1,"a",null,{"name":7,"error":[],"started_at":12}],"created_at":true}"#;
    job_case(cases, "job-wrong-types", wrong, Partial(JOB_PATH))?;
    let time_number = record("50", "1714557600", "time is a number");
    log_case(
        cases,
        "log-time-number",
        time_number.as_bytes(),
        Partial(JOB),
    )?;
    let level_string = record("\"error\"", T, "level is a string");
    log_case(
        cases,
        "log-level-string",
        level_string.as_bytes(),
        Partial(JOB),
    )?;

    let chain: Vec<String> = (0..100_000)
        .map(|i| format!(r#"{{"name":"task.{i}","timeout":10}}"#))
        .collect();
    let results: Vec<String> = (0..100_000)
        .map(|i| format!(r#"{{"name":"task.{i}","result":"OK","error":"","started_at":"2013-12-18T22:21:37.283Z","finished_at":"2013-12-18T22:21:37.679Z"}}"#))
        .collect();
    let long_job = format!(
        r#"{{"uuid":"{JOB}","name":"provision-7.0.24","execution":"failed","created_at":"2013-12-18T22:21:32.992Z","params":{{"vm_uuid":"{VM}","brand":"kvm"}},"chain":[{}],"chain_results":[{}]}}"#,
        chain.join(","),
        results.join(",")
    );
    job_case(cases, "job-100k-chain", &long_job, Partial(JOB))?;

    // Manifests that lie.
    let lying = default_manifest()
        .replace("\"bytes\":10", "\"bytes\":18446744073709551615")
        .replace("\"sha256\":null", "\"sha256\":\"00\"");
    let root = bundle_dir(
        cases,
        "manifest-lying-sizes",
        &[("manifest.json", lying.as_bytes())],
    )?;
    cases.push("manifest-lying-sizes", vec![root], Partial(JOB));
    let outside = manifest(
        "1.1",
        &[
            ("../../../../etc/passwd", Some(SERVER), "/etc/passwd"),
            ("/etc/shadow", Some(SERVER), "/etc/shadow"),
            (JOB_PATH, None, "/jobs"),
        ],
        &default_hosts(),
    );
    let root = bundle_dir(
        cases,
        "manifest-paths-outside",
        &[("manifest.json", outside.as_bytes())],
    )?;
    cases.push("manifest-paths-outside", vec![root], Partial(JOB));
    let ghost = "99999999-9999-4999-8999-999999999999";
    let ghosts = manifest(
        "1.1",
        &[
            (&vm_log_path(), Some(ghost), "/zones/x/root/tmp/vm.log"),
            (JOB_PATH, Some("not-a-host"), "/jobs"),
        ],
        &format!(
            r#"[{{"role":"CN","hostname":"<script>ghost</script>","server_uuid":"{ghost}","error":"HOSTILE | gone | [x](javascript:alert(1))"}}]"#
        ),
    );
    let root = bundle_dir(
        cases,
        "manifest-unknown-hosts",
        &[
            ("manifest.json", ghosts.as_bytes()),
            (&vm_log_path(), vm_log("").as_bytes()),
        ],
    )?;
    cases.push("manifest-unknown-hosts", vec![root], Partial(JOB));
    cases.last().hostile_text = true;
    let root = bundle_dir(
        cases,
        "manifest-unknown-version",
        &[("manifest.json", manifest("7.3", &[], "[]").as_bytes())],
    )?;
    cases.push("manifest-unknown-version", vec![root], Refused("7.3"));
    let root = bundle_dir(
        cases,
        "format-unknown-version",
        &[("bundle-format.json", format_stamp("2.0").as_bytes())],
    )?;
    cases.push(
        "format-unknown-version",
        vec![root],
        Refused("upgrade triton-analyze"),
    );
    let path = cases.input("manifest-unknown-version-tar", "bundle.tar.gz")?;
    let members = bundle_members_with(vec![], &manifest("9.0", &[], "[]"), &failed_job("x"));
    write_file(&path, &gzip(&tar_bytes(&members)))?;
    cases.push("manifest-unknown-version-tar", vec![path], Partial("9.0"));
    let wrong_manifest = r#"{"format":"triton-support-bundle","format_version":"1.1","items":"all of them","hosts":5,"scope":[],"complete":"yes"}"#;
    let root = bundle_dir(
        cases,
        "manifest-wrong-types",
        &[("manifest.json", wrong_manifest.as_bytes())],
    )?;
    cases.push("manifest-wrong-types", vec![root], Partial(JOB));

    // Dates.
    let past = failed_job("past").replace("2013-12-18", "0001-01-01");
    let log = record("50", "\"0000-01-01T00:00:00.000Z\"", "year zero");
    let root = bundle_dir(
        cases,
        "dates-far-past",
        &[
            (JOB_PATH, past.as_bytes()),
            (&vmapi_log_path(), log.as_bytes()),
        ],
    )?;
    cases.push("dates-far-past", vec![root], Partial(JOB));
    cases.last().logs = true;
    let future = failed_job("future").replace("2013-12-18", "9999-12-31");
    let log = format!(
        "{}{}",
        record("50", "\"+275760-09-13T00:00:00.000Z\"", "far future"),
        record("50", "\"9999-12-31T23:59:59.999999999Z\"", "end of time")
    );
    let root = bundle_dir(
        cases,
        "dates-far-future",
        &[
            (JOB_PATH, future.as_bytes()),
            (&vmapi_log_path(), log.as_bytes()),
        ],
    )?;
    cases.push("dates-far-future", vec![root], Partial(JOB));
    cases.last().logs = true;

    // Markup in every place text reaches the report from.
    let job = failed_job(HOSTILE_TEXT);
    let mut log = String::new();
    for line in HOSTILE_TEXT.lines() {
        log.push_str(&record("50", T, line));
    }
    let vm_log_text = vm_log(HOSTILE_TEXT);
    let root = bundle_dir(
        cases,
        "markup-in-text",
        &[
            (JOB_PATH, job.as_bytes()),
            (&vmapi_log_path(), log.as_bytes()),
            (&vm_log_path(), vm_log_text.as_bytes()),
            (
                "hosts/HOSTILE <script>alert(1)<\\script> [x](javascript:y) @here.txt",
                b"text",
            ),
        ],
    )?;
    cases.push("markup-in-text", vec![root], Partial("HOSTILE"));
    cases.last().hostile_text = true;
    cases.last().logs = true;
    Ok(())
}
