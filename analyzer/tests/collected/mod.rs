//! Reports of simulated datacenters as a support engineer gets them: `triton-sim create`, then
//! the real `triton-collect` on the simulated headnode (its fake `sdc-*` and CN commands first on
//! PATH), then `triton-analyze` over the bundle in each output format.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;
use triton_test_support::{
    assert_success, create_datacenter, headnode_collector, run, scenarios, workspace_bin,
};

/// Log text that tries every way out of a quoted excerpt: fences, raw HTML, a script link, a
/// mention and a table row.
pub const HOSTILE: &str = "hostile ```\n```\n</details><script>alert(1)</script> \
                           [x](javascript:alert(1)) @here | col | col |\n````";

/// One scenario's bundle and what the simulator says is in it.
pub struct Collected {
    pub scenario: String,
    pub expected: Value,
    pub bundle: PathBuf,
}

impl Collected {
    /// `triton-analyze --format FORMAT BUNDLE`.
    pub fn report(&self, format: &str) -> String {
        let output = run(Command::new(workspace_bin("triton-analyze"))
            .args(["--format", format])
            .arg(&self.bundle));
        assert_success(
            &format!("triton-analyze --format {format} ({})", self.scenario),
            &output,
        );
        String::from_utf8(output.stdout)
            .unwrap_or_else(|e| panic!("{}: the {format} report is not UTF-8: {e}", self.scenario))
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.report("json"))
            .unwrap_or_else(|e| panic!("{}: the JSON report does not parse: {e}", self.scenario))
    }
}

/// Creates the scenario's datacenter under `work`, lets `plant` change it (hostile text), and
/// collects every expected VM into one bundle.
pub fn collect(scenario: &str, work: &Path, plant: impl FnOnce(&Path, &Value)) -> Collected {
    let dc = work.join("dc");
    let expected = create_datacenter(scenario, 1, &dc, &[]);
    plant(&dc, &expected);
    let bundle = work.join("bundle.tar.gz");
    let mut command = headnode_collector(&workspace_bin("triton-collect"), &dc);
    command.arg("-q").arg("--out").arg(&bundle);
    for p in expected["provisions"].as_array().into_iter().flatten() {
        if let Some(vm) = p["vm_uuid"].as_str() {
            command.args(["--vm", vm]);
        }
    }
    let output = run(&mut command);
    assert!(
        matches!(output.status.code(), Some(0) | Some(1)) && bundle.exists(),
        "{scenario}: triton-collect exited {:?} without a bundle:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    Collected {
        scenario: scenario.to_string(),
        expected,
        bundle,
    }
}

/// Runs `check` on every scenario's bundle, two at a time, and returns every problem found.
pub fn for_every_scenario(check: impl Fn(&Collected) -> Vec<String> + Sync) -> Vec<String> {
    let queue = Mutex::new(scenarios());
    let problems = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let Some(scenario) = queue.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                    break;
                };
                let work = tempfile::tempdir().expect("temporary directory");
                let collected = collect(&scenario, work.path(), |_, _| {});
                let found = check(&collected);
                problems
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(found.into_iter().map(|p| format!("{scenario}: {p}")));
            });
        }
    });
    problems.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// Plants [`HOSTILE`] where the report quotes it: in the error of the provision job's failed task
/// (an API answer, quoted as evidence and in the timeline) and on the line of the VM's `vm.log`
/// that the memory rule cites.
pub fn plant_hostile_text(dc: &Path, expected: &Value) {
    let state_path = dc.join("sim/state.json");
    let mut state: Value = serde_json::from_str(
        &std::fs::read_to_string(&state_path).expect("read the simulator state"),
    )
    .expect("the simulator state is JSON");
    let job_uuid = expected["provisions"][0]["job_uuid"].clone();
    let mut planted = 0;
    for job in state["api"]["jobs"].as_array_mut().into_iter().flatten() {
        if job["uuid"] != job_uuid {
            continue;
        }
        for result in job["chain_results"].as_array_mut().into_iter().flatten() {
            let error = &mut result["error"];
            if let Some(text) = error.as_str().filter(|t| !t.is_empty()) {
                *error = Value::String(format!("{text}\n{HOSTILE}"));
                planted += 1;
            } else if let Some(message) = error["message"].as_str() {
                error["message"] = Value::String(format!("{message}\n{HOSTILE}"));
                planted += 1;
            }
        }
    }
    assert!(
        planted > 0,
        "no failed task in job {job_uuid} to plant into"
    );
    std::fs::write(&state_path, state.to_string()).expect("write the simulator state");

    let one_line = HOSTILE.replace('\n', " ");
    let marker = "Failed to allocate memory";
    for entry in walk(&dc.join("cn")) {
        if entry.file_name().is_some_and(|n| n == "vm.log") {
            let text = std::fs::read_to_string(&entry).expect("read vm.log");
            if text.contains(marker) {
                let text = text.replace(marker, &format!("{marker} {one_line}"));
                std::fs::write(&entry, text).expect("write vm.log");
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => todo.push(path),
                Ok(t) if t.is_file() => files.push(path),
                _ => {}
            }
        }
    }
    files
}

/// Where to write rendered reports for looking at them in a browser, when asked to with
/// `TRITON_REPORT_PREVIEW_DIR`.
pub fn preview_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("TRITON_REPORT_PREVIEW_DIR")?);
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}
