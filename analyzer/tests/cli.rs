//! The binary on hand-built inputs made of the guide's and reference's literal samples.

mod common;

use common::*;

#[test]
fn usage_errors_exit_2() {
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(&["--explain", "no-such-key"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("kvm-qemu-out-of-memory"),
        "lists the known keys"
    );
    let o = run(&["--format", "yaml", "x"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn explain_without_inputs_documents_the_rule() {
    let o = run(&["--explain", "image-import-race"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("-partial"));
}

#[test]
fn unreadable_inputs_exit_3_and_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("nope.tar.gz");
    let o = run_paths(&[], &[&missing]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope.tar.gz"));

    // One good input: the report is written, the bad one still named.
    let good = dir.path().join("good");
    write(&good, "job.json", &guide_kvm_job());
    let o = run_paths(&[], &[&missing, &good]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope.tar.gz"));
    assert!(stdout(&o).contains("unreadable"));
}

#[test]
fn guide_kvm_sample_in_a_directory_is_confirmed() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("customer");
    write(&root, "job.json", &guide_kvm_job());
    write(&root, &format!("zones/{VM}/root/tmp/vm.log"), GUIDE_VM_LOG);
    let o = run_paths(&["--format", "json"], &[&root]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    let p = &r["provisions"][0];
    assert_eq!(p["diagnosis"]["key"], "kvm-qemu-out-of-memory");
    assert_eq!(p["diagnosis"]["confidence"], "confirmed");
    assert_eq!(p["failed_task"], "cnapi.poll_task");
    assert_eq!(p["era"], "7.0.x");
    let evidence = r["findings"][0]["evidence"].as_array().expect("evidence");
    assert!(evidence.iter().any(|e| e["place"]["host_path"]
        == format!("/zones/{VM}/root/tmp/vm.log")
        && e["line"] == 8
        && e["excerpt"]
            .as_str()
            .unwrap_or("")
            .contains("Failed to allocate memory")));
}

#[test]
fn kvm_timeout_without_vm_log_is_only_likely() {
    let dir = tempfile::tempdir().expect("tmp");
    let job = dir.path().join("job.json");
    std::fs::write(&job, guide_kvm_job()).expect("write");
    let o = run_paths(&["--format", "json"], &[&job]);
    let r = json(&o);
    assert_eq!(
        r["provisions"][0]["diagnosis"]["key"],
        "kvm-qemu-out-of-memory"
    );
    assert_eq!(r["provisions"][0]["diagnosis"]["confidence"], "likely");
    assert!(r["missing"].as_array().is_some_and(|m| !m.is_empty()));
}

#[test]
fn tarball_of_renamed_loose_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let loose = dir.path().join("loose");
    write(
        &loose,
        "the-job.txt",
        &format!(
            "HTTP/1.1 200 OK\nContent-Type: application/json\n\n{}",
            guide_kvm_job()
        ),
    );
    write(&loose, "qemu.txt", GUIDE_VM_LOG);
    let tgz = dir.path().join("ticket-1234.tgz");
    tarball(&loose, &tgz);
    let o = run_paths(&["--format", "json"], &[&tgz]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = json(&o);
    // A loose vm.log names no VM; the KVM rule still uses it when the brand is kvm.
    assert_eq!(
        r["provisions"][0]["diagnosis"]["key"],
        "kvm-qemu-out-of-memory"
    );
    assert_eq!(r["provisions"][0]["diagnosis"]["confidence"], "confirmed");
}

#[test]
fn guide_image_race_with_cn_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("race");
    let image = "279936e6-5eae-4a87-8a37-dc3e13c36ff9";
    let error = format!("Error importing image {image} to zpool zones:\n\targv: [\"/usr/sbin/imgadm\",\"import\",\"-q\",\"-P\",\"zones\",\"{image}\"]\n\texit status: 1\n\tstdout:\nImporting image {image} (Pandarus 20140325T210902Z) from \"http://imgapi.eu-ams-1.joyent.us\"\n\tstderr:\nStderr from zfs receive: cannot receive new filesystem stream: destination 'zones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial' exists\nmust specify -F to overwrite it\n");
    let job = serde_json::json!({
        "uuid": "0d6c1c4e-0b6e-4b4f-9a34-1b1f1f1f1f1f", "name": "provision-7.0.28", "execution": "failed",
        "created_at": "2014-03-25T21:42:30.000Z",
        "params": {"vm_uuid": VM, "brand": "joyent", "image_uuid": image, "server_uuid": SERVER},
        "chain_results": [
            {"result": "", "error": {"name": "Error", "message": error}, "name": "cnapi.poll_task_ensure_image",
             "started_at": "2014-03-25T21:42:38.922Z", "finished_at": "2014-03-25T21:42:41.531Z"}]
    });
    write(&root, "job.json", &job.to_string());
    write(&root, "imgadm-get.txt", &format!("{{\n  \"manifest\": {{\n    \"v\": 2,\n    \"uuid\": \"{image}\",\n    \"name\": \"Pandarus\",\n    \"version\": \"20140325T210902Z\"\n  }},\n  \"zpool\": \"zones\",\n  \"source\": \"http://imgapi.eu-ams-1.joyent.us\"\n}}\n"));
    write(&root, "zfs.txt", &format!("NAME USED AVAIL REFER MOUNTPOINT\nzones/{image} 1.45G 2.06T 1.81G /zones/{image}\nzones/{image}@final 0 - 1.81G -\n"));
    let o = run_paths(&["--format", "json"], &[&root]);
    let r = json(&o);
    assert_eq!(
        r["provisions"][0]["diagnosis"]["key"],
        "image-import-race",
        "{}",
        stdout(&o)
    );
    assert_eq!(r["provisions"][0]["diagnosis"]["confidence"], "confirmed");

    // The same with the -partial dataset still there: operator cleanup needed.
    write(
        &root,
        "zfs.txt",
        "NAME USED AVAIL REFER MOUNTPOINT\nzones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial 10M 2.06T 10M /zones/2b683a82-a066-11e3-97ab-2faa44701c5a-partial\n",
    );
    std::fs::remove_file(root.join("imgadm-get.txt")).expect("rm");
    let r = json(&run_paths(&["--format", "json"], &[&root]));
    assert_eq!(
        r["provisions"][0]["diagnosis"]["key"],
        "image-import-partial-leftover"
    );
}

#[test]
fn no_job_409_in_vmapi_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("nojob");
    let lines = [
        r#"{"name":"vmapi","hostname":"h","pid":1,"req_id":"cd01a6fa-a182-48fe-97d4-3557afb351e4","level":30,"dapiPayload":{"vm":{"vm_uuid":"aa141fd7-ec10-4d9f-ae41-d383ce14dcd3","brand":"joyent"}},"msg":"Payload sent to DAPI","time":"2024-05-11T08:57:52.742Z","v":0}"#,
        r#"{"name":"vmapi","hostname":"h","pid":1,"audit":true,"level":30,"req_id":"cd01a6fa-a182-48fe-97d4-3557afb351e4","req":{"method":"POST","url":"/vms"},"res":{"statusCode":409,"body":{"code":"NoAllocatableServersError","message":"No compute resources available: no servers with enough unreserved ram"}},"msg":"handled: 409","time":"2024-05-11T08:57:53.839Z","v":0}"#,
    ];
    write(&root, "zones/94a47caf-3c09-4a8c-8db7-192afe6d18c1/root/var/svc/log/smartdc-site-vmapi:default.log", &(lines.join("\n") + "\n"));
    let r = json(&run_paths(&["--format", "json"], &[&root]));
    let p = &r["provisions"][0];
    assert_eq!(p["diagnosis"]["key"], "no-allocatable-servers");
    assert_eq!(p["job_uuid"], serde_json::Value::Null);
    assert_eq!(p["vm_uuid"], "aa141fd7-ec10-4d9f-ae41-d383ce14dcd3");
    assert_eq!(p["brand"], "joyent");
    assert_eq!(p["era"], "no-job");
    assert!(p["diagnosis"]["summary"]
        .as_str()
        .unwrap_or("")
        .contains("unreserved ram"));
}

#[test]
fn hostile_log_text_is_rendered_as_text() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("hostile");
    let evil =
        "```\n</details><script>alert(1)</script> [x](javascript:alert(1)) @here | col |\n````";
    let job = serde_json::json!({
        "uuid": "0d6c1c4e-0b6e-4b4f-9a34-1b1f1f1f1f1f", "name": "provision-8.2.4", "execution": "failed",
        "created_at": "2024-05-11T08:57:52.000Z",
        "params": {"vm_uuid": VM, "brand": "joyent", "server_uuid": SERVER},
        "chain_results": [
            {"result": "", "error": format!("vmadm exited with code: 1: {evil}"), "name": "cnapi.wait_task",
             "started_at": "2024-05-11T08:58:00.000Z", "finished_at": "2024-05-11T08:59:00.000Z"}]
    });
    write(&root, "job.json", &job.to_string());
    let o = run_paths(&[], &[&root]);
    assert_eq!(o.status.code(), Some(0));
    let md = stdout(&o);
    // Outside code blocks nothing of the hostile text may survive as markup.
    let mut in_fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        match &in_fence {
            Some(f) if ticks.len() >= f.len() && line.trim_end() == ticks => in_fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => in_fence = Some(ticks),
            None => {
                assert!(
                    !line.contains("<script>"),
                    "raw HTML outside a code block: {line}"
                );
                // The report's own folds close on a line of their own; the hostile text's
                // `</details>` never reaches a line outside a code block.
                assert!(
                    !line.contains("</details>") || line == "</details>",
                    "raw HTML outside a code block: {line}"
                );
                assert!(
                    !line.contains("](javascript:"),
                    "link outside a code block: {line}"
                );
                assert!(
                    !line.contains("@here"),
                    "mention outside a code block: {line}"
                );
            }
        }
    }
    assert!(in_fence.is_none(), "a code block was left open");
    // The excerpt is fenced with more backticks than it contains.
    assert!(md.contains("`````text\n"), "{md}");
}

#[test]
fn output_is_identical_for_1_and_n_threads() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut inputs = Vec::new();
    for i in 0..4 {
        let root = dir.path().join(format!("input-{i}"));
        write(
            &root,
            "job.json",
            &guide_kvm_job().replace("7c992699", &format!("7c99269{i}")),
        );
        write(&root, &format!("zones/{VM}/root/tmp/vm.log"), GUIDE_VM_LOG);
        inputs.push(root);
    }
    let paths: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
    let one = run_paths(&["-j", "1"], &paths);
    let many = run_paths(&["-j", "4"], &paths);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(stdout(&one), stdout(&many));
    let one = run_paths(&["-j", "1", "--format", "json"], &paths);
    let many = run_paths(&["-j", "4", "--format", "json"], &paths);
    assert_eq!(stdout(&one), stdout(&many));
    // The same vm.log in four inputs is one piece of evidence per provision, not four.
    let r = json(&one);
    assert_eq!(r["provisions"].as_array().map(|a| a.len()), Some(4));
}

#[test]
fn vm_and_job_filters() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("two");
    write(&root, "a.json", &guide_kvm_job());
    write(
        &root,
        "b.json",
        &guide_kvm_job()
            .replace("7c992699", "11111111")
            .replace(VM, "b8d2e0fd-1224-468d-ad0b-9411b63ab6d5"),
    );
    let r = json(&run_paths(&["--format", "json", "--vm", VM], &[&root]));
    assert_eq!(r["provisions"].as_array().map(|a| a.len()), Some(1));
    let r = json(&run_paths(
        &[
            "--format",
            "json",
            "--job",
            "11111111-6166-42bd-94ba-1de449d20d7e",
        ],
        &[&root],
    ));
    assert_eq!(
        r["provisions"][0]["vm_uuid"],
        "b8d2e0fd-1224-468d-ad0b-9411b63ab6d5"
    );
}

#[test]
fn explain_with_inputs_says_why_each_rule_fired_or_not() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("customer");
    write(&root, "job.json", &guide_kvm_job());
    write(&root, &format!("zones/{VM}/root/tmp/vm.log"), GUIDE_VM_LOG);
    let o = run_paths(&["--explain", "kvm-qemu-out-of-memory"], &[&root]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("fired (confirmed)"), "{}", stdout(&o));
    let o = run_paths(&["--explain", "zone-setup-failed"], &[&root]);
    assert!(
        stdout(&o).contains("did not fire: brand is kvm"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn vmadm_create_console_without_job() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("console");
    // A failed VM object (vmadm get) and the console of the failed `vmadm create`.
    write(
        &root,
        "vm.json",
        &format!(
            r#"{{"uuid": "{VM}", "brand": "joyent", "state": "failed", "zone_state": "installed"}}"#
        ),
    );
    write(&root, "create.txt", &format!("Failed to create VM {VM}: timed out waiting for /var/svc/provisioning to move for {VM}\n"));
    let r = json(&run_paths(&["--format", "json"], &[&root]));
    let p = &r["provisions"][0];
    assert_eq!(p["vm_uuid"], VM);
    assert_eq!(p["era"], "no-job");
    assert_eq!(p["diagnosis"]["key"], "unknown");
    let evidence = r["findings"][0]["evidence"].as_array().expect("evidence");
    assert!(evidence.iter().any(|e| e["excerpt"]
        .as_str()
        .unwrap_or("")
        .contains("Failed to create VM")));
    assert!(
        r["missing"].as_array().is_some_and(|m| !m.is_empty()),
        "says the job is missing"
    );
}

#[test]
fn a_loose_vm_log_is_not_pinned_on_one_of_two_kvm_failures() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("two-kvm");
    write(&root, "a.json", &guide_kvm_job());
    write(
        &root,
        "b.json",
        &guide_kvm_job()
            .replace("7c992699", "11111111")
            .replace(VM, "b8d2e0fd-1224-468d-ad0b-9411b63ab6d5"),
    );
    write(&root, "qemu.txt", GUIDE_VM_LOG);
    let r = json(&run_paths(&["--format", "json"], &[&root]));
    for p in r["provisions"].as_array().expect("provisions") {
        assert_eq!(p["diagnosis"]["key"], "kvm-qemu-out-of-memory");
        assert_eq!(
            p["diagnosis"]["confidence"], "likely",
            "the loose vm.log names no VM"
        );
    }
}

/// Next steps of the first finding.
fn next_steps(report: &serde_json::Value) -> Vec<String> {
    report["findings"][0]["next_steps"]
        .as_array()
        .expect("next_steps")
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

#[test]
fn the_archive_is_suggested_only_for_a_destroyed_vm() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("live");
    write(&root, "job.json", &guide_kvm_job());
    let steps = next_steps(&json(&run_paths(&["--format", "json"], &[&root])));
    assert!(
        steps
            .iter()
            .any(|s| s.contains(&format!("tail -n 20 /zones/{VM}/root/tmp/vm.log"))),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.contains("/zones/archive")),
        "{steps:?}"
    );

    // The VM's jobs (sdc-vmapi /vms/<uuid>/jobs): destroyed half an hour after the failure.
    let destroy = serde_json::json!({
        "uuid": "24ba9505-0176-4bbe-bc50-eb7de8c987b4", "name": "destroy-7.0.1",
        "execution": "succeeded", "created_at": "2013-12-18T23:00:00.000Z",
        "params": {"vm_uuid": VM}, "chain_results": []
    });
    write(&root, "jobs.json", &format!("[{destroy}]"));
    let report = json(&run_paths(&["--format", "json"], &[&root]));
    assert_eq!(
        report["provisions"][0]["diagnosis"]["key"],
        "kvm-qemu-out-of-memory"
    );
    let steps = next_steps(&report);
    assert!(
        steps
            .iter()
            .any(|s| s.contains(&format!("tail -n 20 /zones/archive/{VM}/vmlogs/vm.log"))),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|s| s.contains("/root/tmp/vm.log")),
        "{steps:?}"
    );
}

#[test]
fn the_same_path_on_two_unnamed_hosts_is_two_files() {
    // Two compute nodes' logs, each tarred from `/` by hand: nothing says which host is which,
    // and both hold `/var/svc/log/system-smartdc-vmadmd:default.log`.
    let dir = tempfile::tempdir().expect("tmp");
    let record = |vm: &str| {
        format!(
            r#"{{"name":"vmadmd","hostname":"cn","pid":1,"level":50,"msg":"checkHWSetup Error: connect ECONNREFUSED for {vm}","time":"2013-12-18T22:25:00.000Z","v":0}}"#
        ) + "\n"
    };
    let mut inputs = Vec::new();
    for (name, vm) in [
        ("cn-a", "b8d2e0fd-1224-468d-ad0b-9411b63ab6d5"),
        ("cn-b", VM),
    ] {
        let root = dir.path().join(name);
        write(
            &root,
            "var/svc/log/system-smartdc-vmadmd:default.log",
            &record(vm),
        );
        let tgz = dir.path().join(format!("{name}.tgz"));
        tarball(&root, &tgz);
        inputs.push(tgz);
    }
    let job = dir.path().join("job.json");
    std::fs::write(&job, guide_kvm_job()).expect("write");
    let mut paths: Vec<&std::path::Path> = inputs.iter().map(|p| p.as_path()).collect();
    paths.push(&job);
    let r = json(&run_paths(&["--format", "json"], &paths));
    let timeline = r["provisions"][0]["timeline"].as_array().expect("timeline");
    assert!(
        timeline.iter().any(|e| {
            let text = e["text"].as_str().unwrap_or("");
            text.starts_with("checkHWSetup") && text.contains(VM)
        }),
        "cn-b's record about the VM is kept: {timeline:?}"
    );
}
