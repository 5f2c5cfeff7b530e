//! Side-by-side checks against the real bunyan CLI: on a big VMAPI-style log, and on the VMAPI
//! logs of a simulated datacenter (`triton-sim`).
//!
//! Runs only when the bunyan CLI is available: set `BUNYAN_CLI` to its path (after
//! `npm install --prefix DIR bunyan@1` it is `DIR/node_modules/.bin/bunyan`), or have `bunyan`
//! on PATH. Otherwise the test says it was skipped.
//!
//! The log mixes what a VMAPI SMF log holds: restify audit records with `req`/`res`, records with
//! `err` stacks, multi-line messages, extra fields of every JSON type, SMF method lines and bare
//! stack traces between records.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A small deterministic generator (64-bit LCG), so the log is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn uuid(&mut self) -> String {
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            self.next() as u32,
            self.below(0x10000),
            self.below(0x1000),
            self.below(0x1000),
            self.next() << 16 | self.below(0x10000)
        )
    }
}

fn vmapi_log(records: usize) -> String {
    let mut rng = Lcg(0x5eed);
    let start: jiff::Timestamp = "2024-05-01T10:00:00Z".parse().unwrap();
    let mut out = String::new();
    out.push_str("[ May  1 10:00:00 Executing start method (\"/opt/smartdc/vmapi/smf/method/vmapi start\"). ]\n");
    let mut t = start;
    for i in 0..records {
        t += jiff::SignedDuration::from_millis(rng.below(900) as i64 + 1);
        let time = t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
        let req_id = rng.uuid();
        let vm = rng.uuid();
        let level = [20, 30, 30, 30, 40, 50, 60][rng.below(7) as usize];
        let head = format!(
            r#"{{"name":"vmapi","hostname":"headnode","pid":{},"#,
            1000 + rng.below(3)
        );
        let tail = format!(r#""time":"{time}","v":0}}"#);
        let line = match rng.below(8) {
            0 => format!(
                r#"{head}"component":"audit","audit":true,"level":{level},"remoteAddress":"10.99.99.{}","remotePort":{},"req_id":"{req_id}","req":{{"method":"POST","url":"/vms?owner_uuid={vm}","headers":{{"host":"vmapi.coal.joyent.us","content-type":"application/json","x-request-id":"{req_id}"}},"httpVersion":"1.1","trailers":{{}}}},"res":{{"statusCode":{},"headers":{{"content-type":"application/json","content-length":{}}},"trailer":false}},"latency":{},"_audit":true,"msg":"handled: {}",{tail}"#,
                rng.below(255),
                30000 + rng.below(30000),
                [200, 202, 404, 409, 500, 503][rng.below(6) as usize],
                rng.below(5000),
                rng.below(3000),
                rng.below(600)
            ),
            1 => format!(
                r#"{head}"level":50,"req_id":"{req_id}","err":{{"message":"connect ECONNREFUSED 10.99.99.22:80","name":"Error","stack":"Error: connect ECONNREFUSED 10.99.99.22:80\n    at TCPConnectWrap.afterConnect [as oncomplete] (net.js:1141:16)","code":"ECONNREFUSED","errno":"ECONNREFUSED","syscall":"connect"}},"msg":"Error calling CNAPI for VM {vm}",{tail}"#
            ),
            2 => format!(
                r#"{head}"level":{level},"vm_uuid":"{vm}","job_uuid":"{}","params":{{"brand":"kvm","ram":{},"quota":{},"firewall_enabled":false,"tags":{{}},"nics":[{{"ipv4_uuid":"{}","primary":true}}]}},"msg":"Provisioning VM\nwith params",{tail}"#,
                rng.uuid(),
                1024 * (1 + rng.below(16)),
                10 + rng.below(90),
                rng.uuid()
            ),
            3 => format!(
                r#"{head}"level":{level},"src":{{"file":"/opt/smartdc/vmapi/lib/apis/moray.js","line":{},"func":"getVm"}},"uuid":"{vm}","state":"{}","msg":"VM state {}",{tail}"#,
                rng.below(900),
                ["running", "stopped", "provisioning", "failed"][rng.below(4) as usize],
                ["changed", "unchanged"][rng.below(2) as usize]
            ),
            4 => format!(
                r#"{head}"level":{level},"count":{},"ratio":{}.{},"ok":{},"note":"{}","empty":"","nothing":null,"list":[1,"two",{{"three":3}}],"msg":"heartbeat processed",{tail}"#,
                rng.below(100_000),
                rng.below(100),
                rng.below(1000),
                rng.below(2) == 0,
                [
                    "short",
                    "has spaces in it",
                    "a much longer note that goes past the fifty character limit for extras"
                ][rng.below(3) as usize]
            ),
            5 => format!(
                r#"{head}"level":{level},"client_req":{{"method":"GET","url":"/servers/{}","address":"10.99.99.22","port":80,"headers":{{"accept":"application/json"}}}},"client_res":{{"statusCode":200,"headers":{{"content-type":"application/json"}},"body":""}},"msg":"cnapi call",{tail}"#,
                rng.uuid()
            ),
            6 => format!(r#"{head}"level":{level},"req_id":"{req_id}","msg":"",{tail}"#),
            _ => format!(r#"{head}"level":{level},"msg":"record {i} of the day",{tail}"#),
        };
        out.push_str(&line);
        out.push('\n');
        match rng.below(25) {
            0 => out.push_str(
                "TypeError: Cannot read property 'uuid' of undefined\n    at /opt/smartdc/vmapi/lib/workflow.js:210:33\n    at process._tickCallback (node.js:415:13)\n",
            ),
            1 => out.push_str("[ May  1 10:30:00 Stopping because service restarting. ]\n"),
            2 => out.push('\n'),
            3 => out.push_str("{\"not\":\"a bunyan record\"}\n"),
            _ => {}
        }
    }
    out
}

fn bunyan_cli() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BUNYAN_CLI") {
        return Some(PathBuf::from(path));
    }
    let found = Command::new("bunyan")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    String::from_utf8_lossy(&found.stdout)
        .starts_with("bunyan ")
        .then(|| PathBuf::from("bunyan"))
}

/// Runs with stdout going to a file: node writes to a pipe asynchronously and bunyan may exit
/// before a big output has been flushed, which would make the comparison flaky.
fn run(program: &Path, args: &[&str], dir: &Path) -> (Vec<u8>, Option<i32>) {
    let out_path = dir.join("stdout.capture");
    let out_file = std::fs::File::create(&out_path).expect("create capture file");
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        .stdout(out_file)
        .status()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    let stdout = std::fs::read(&out_path).expect("read capture file");
    (stdout, status.code())
}

#[test]
fn big_vmapi_log_matches_the_real_bunyan_cli() {
    let Some(bunyan) = bunyan_cli() else {
        println!("skipped: bunyan CLI not found (set BUNYAN_CLI or put bunyan on PATH)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = vmapi_log(5000);
    std::fs::write(dir.path().join("vmapi.log"), &log).unwrap();
    // To look at a difference by hand: SIDE_BY_SIDE_DUMP=<file> keeps a copy of the log.
    if let Some(dump) = std::env::var_os("SIDE_BY_SIDE_DUMP") {
        std::fs::write(dump, &log).unwrap();
    }
    let ours = Path::new(env!("CARGO_BIN_EXE_triton-logs"));
    let mut failures = Vec::new();
    for options in [
        vec![],
        vec!["-l", "error"],
        vec!["-o", "short"],
        vec!["-o", "json"],
        vec!["-o", "simple"],
        vec!["--strict", "-l", "warn"],
    ] {
        let mut args = vec!["--no-color"];
        args.extend(&options);
        args.push("vmapi.log");
        let want = run(&bunyan, &args, dir.path());
        let got = run(ours, &args, dir.path());
        if want != got {
            let line = want
                .0
                .split(|b| *b == b'\n')
                .zip(got.0.split(|b| *b == b'\n'))
                .position(|(w, g)| w != g)
                .map_or("the end".to_string(), |i| format!("line {}", i + 1));
            failures.push(format!(
                "{options:?}: differs at {line} (exit {:?} vs {:?})",
                want.1, got.1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "differences from bunyan:\n{}",
        failures.join("\n")
    );
}

/// The headnode's VMAPI logs in a simulated datacenter: the SMF log and the plain hourly
/// rotated ones (bunyan does not read gzip).
fn sim_vmapi_logs(sim: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let zones = std::fs::read_dir(sim.join("hn/zones")).expect("read hn/zones of the sim");
    for zone in zones.flatten() {
        let root = zone.path().join("root/var");
        let smf = root.join("svc/log/smartdc-site-vmapi:default.log");
        if smf.is_file() {
            found.push(smf);
        }
        if let Ok(upload) = std::fs::read_dir(root.join("log/sdc/upload")) {
            for file in upload.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if name.starts_with("vmapi_") && name.ends_with(".log") {
                    found.push(file.path());
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn simulated_datacenter_vmapi_logs_match_the_real_bunyan_cli() {
    let Some(bunyan) = bunyan_cli() else {
        println!("skipped: bunyan CLI not found (set BUNYAN_CLI or put bunyan on PATH)");
        return;
    };
    let sim_bin = triton_test_support::workspace_bin("triton-sim");
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("dc");
    let status = Command::new(&sim_bin)
        .args([
            "create",
            "--scenario",
            "cnapi-unreachable",
            "--no-fakes",
            "--out",
        ])
        .arg(&sim)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run triton-sim");
    assert!(status.success(), "triton-sim create failed: {status}");
    let logs = sim_vmapi_logs(&sim);
    assert!(
        logs.iter()
            .any(|p| p.ends_with("smartdc-site-vmapi:default.log")),
        "no VMAPI SMF log in the simulated headnode: {logs:?}"
    );
    let ours = Path::new(env!("CARGO_BIN_EXE_triton-logs"));
    let mut failures = Vec::new();
    for log in &logs {
        let file = log.to_str().expect("UTF-8 temporary path");
        for options in [vec!["-l", "error"], vec!["-o", "short"], vec!["-o", "json"]] {
            let mut args = vec!["--no-color"];
            args.extend(&options);
            args.push(file);
            let want = run(&bunyan, &args, dir.path());
            let got = run(ours, &args, dir.path());
            if options == ["-o", "json"] {
                assert!(!want.0.is_empty(), "bunyan printed nothing for {args:?}");
            }
            if want != got {
                failures.push(format!(
                    "{} {options:?}: {} (exit {:?} vs {:?})",
                    log.display(),
                    triton_logs::conformance::diff_hint(&want.0, &got.0),
                    want.1,
                    got.1
                ));
            }
        }
    }
    println!("compared {} simulated VMAPI logs with bunyan", logs.len());
    assert!(
        failures.is_empty(),
        "differences from bunyan:\n{}",
        failures.join("\n")
    );
}
