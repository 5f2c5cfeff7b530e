//! `sdc-vmapi`, `sdc-workflow`, `sdc-cnapi`, `sdc-imgapi`, `sdc-napi` through the real binary.

mod common;

use common::*;
use serde_json::{json, Value};

#[test]
fn vmapi_vm_has_curl_i_framing_and_restify_headers() {
    let dc = Dc::new();
    let out = dc.run("sdc-vmapi", &[&format!("/vms/{VM}")], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let (code, reason, headers, body) = parse_http(&text);
    assert_eq!((code, reason.as_str()), (200, "OK"));
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "Content-Length",
            "Date",
            "Server",
            "x-request-id",
            "x-response-time",
            "x-server-name",
            "Connection"
        ]
    );
    assert_eq!(header(&headers, "Content-Type"), Some("application/json"));
    assert_eq!(header(&headers, "Server"), Some("VMAPI/9.16.0"));
    assert_eq!(header(&headers, "x-server-name"), Some(VMAPI_ZONE));
    assert_eq!(
        header(&headers, "Date"),
        Some("Thu, 18 Jan 2024 12:00:00 GMT")
    );
    // Content-Length is the size of the compact body the server sent, not of the pretty print.
    let compact = serde_json::to_string(&body).unwrap();
    assert_eq!(
        header(&headers, "Content-Length"),
        Some(compact.len().to_string().as_str())
    );
    assert_eq!(body["uuid"], VM);
    assert_eq!(body["state"], "failed");
    assert_eq!(body["server_uuid"], CN1);
    // Body is `json -q` output: 2-space pretty JSON with a final newline, in server key order.
    let body_text = text.split_once("\r\n\r\n").unwrap().1;
    assert!(body_text.starts_with("{\n  \"uuid\": "), "{body_text}");
    assert!(body_text.ends_with("}\n"));
}

#[test]
fn no_headers_prints_only_the_body() {
    let dc = Dc::new();
    let out = dc.run("sdc-vmapi", &["--no-headers", &format!("/vms/{VM}")], None);
    let text = stdout(&out);
    assert!(text.starts_with('{'), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["alias"], "web-1");
}

#[test]
fn vm_jobs_are_trimmed_and_newest_first() {
    let dc = Dc::new();
    let out = dc.run("sdc-vmapi", &[&format!("/vms/{VM}/jobs")], None);
    let (code, _, _, body) = parse_http(&stdout(&out));
    assert_eq!(code, 200);
    let jobs = body.as_array().expect("array");
    let uuids: Vec<&str> = jobs.iter().map(|j| j["uuid"].as_str().unwrap()).collect();
    assert_eq!(
        uuids,
        [DESTROY_JOB, JOB],
        "only this VM's jobs, newest first"
    );
    let provision = &jobs[1];
    let keys: Vec<&str> = provision
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "name",
            "uuid",
            "execution",
            "params",
            "exec_after",
            "created_at",
            "timeout",
            "chain_results"
        ]
    );
    let params = provision["params"].as_object().unwrap();
    for hidden in ["dapi_url", "napi_url", "cnapi_url", "vmapi_url", "expects"] {
        assert!(!params.contains_key(hidden), "{hidden} must be stripped");
    }
    assert_eq!(
        params["x-request-id"],
        "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"
    );
    let results = provision["chain_results"].as_array().unwrap();
    assert_eq!(results.last().unwrap()["name"], "cnapi.wait_task");
    assert!(results.last().unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("vmadm exited with code: 1"));
}

#[test]
fn vmapi_job_queries() {
    let dc = Dc::new();
    let out = dc.run(
        "sdc-vmapi",
        &[&format!(
            "/jobs?vm_uuid={VM}&execution=failed&task=provision"
        )],
        None,
    );
    let (_, _, _, body) = parse_http(&stdout(&out));
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["uuid"], JOB);
    assert!(body[0].get("chain").is_none() && body[0].get("elapsed").is_none());

    let out = dc.run("sdc-vmapi", &[&format!("/jobs/{JOB}")], None);
    let (_, _, _, body) = parse_http(&stdout(&out));
    assert_eq!(body["name"], "provision-8.2.4");
    assert!(body.get("onerror_results").is_none());
}

#[test]
fn missing_objects_give_real_404_bodies_with_exit_0() {
    let dc = Dc::new();
    let missing = "00000000-1111-4222-8333-444444444444";
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "sdc-vmapi",
            format!("/vms/{missing}"),
            json!({"code": "ResourceNotFound", "message": "VM not found"}),
        ),
        (
            "sdc-vmapi",
            format!("/vms/{missing}/jobs"),
            json!({"code": "ResourceNotFound", "message": "VM not found"}),
        ),
        (
            "sdc-workflow",
            format!("/jobs/{missing}"),
            json!({"code": "ResourceNotFound", "message": format!("Job with uuid '{missing}' does not exist")}),
        ),
        (
            "sdc-cnapi",
            format!("/servers/{missing}"),
            json!({"code": "ResourceNotFound", "message": format!("Server {missing} not found")}),
        ),
        (
            "sdc-cnapi",
            format!("/tasks/{missing}"),
            json!({"code": "ResourceNotFound", "message": "no such task found"}),
        ),
        (
            "sdc-imgapi",
            format!("/images/{missing}"),
            json!({"code": "ResourceNotFound", "message": format!("image {missing} not found")}),
        ),
        (
            "sdc-napi",
            format!("/networks/{missing}"),
            json!({"code": "ResourceNotFound", "message": "network not found"}),
        ),
        (
            "sdc-vmapi",
            "/nosuch".to_string(),
            json!({"code": "ResourceNotFound", "message": "/nosuch does not exist"}),
        ),
    ];
    for (command, path, expected) in cases {
        let out = dc.run(command, &[&path], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{command} {path}: curl succeeds on an HTTP error"
        );
        let (code, reason, _, body) = parse_http(&stdout(&out));
        assert_eq!(
            (code, reason.as_str()),
            (404, "Not Found"),
            "{command} {path}"
        );
        assert_eq!(body, expected, "{command} {path}");
    }
}

#[test]
fn workflow_returns_the_full_job() {
    let dc = Dc::new();
    let out = dc.run("sdc-workflow", &[&format!("/jobs/{JOB}")], None);
    let (code, _, headers, body) = parse_http(&stdout(&out));
    assert_eq!(code, 200);
    assert_eq!(header(&headers, "x-server-name"), Some(WORKFLOW_ZONE));
    assert_eq!(body["elapsed"], 463.2);
    assert_eq!(body["chain"].as_array().unwrap().len(), 12);
    assert_eq!(body["onerror_results"][1]["error"], "Error executing job");
    assert_eq!(
        body["params"]["cnapi_url"],
        "http://cnapi.us-east-1.example.com"
    );

    let out = dc.run("sdc-workflow", &["/jobs?execution=bogus"], None);
    let (code, _, _, body) = parse_http(&stdout(&out));
    assert_eq!(code, 409);
    assert_eq!(body["code"], "ConflictError");
}

#[test]
fn cnapi_imgapi_napi_objects() {
    let dc = Dc::new();
    let (_, _, headers, body) = parse_http(&stdout(&dc.run(
        "sdc-cnapi",
        &[&format!("/servers/{CN1}")],
        None,
    )));
    assert_eq!(body["hostname"], "cn1");
    assert_eq!(header(&headers, "Server"), Some("cnapi/1.26.6"));
    assert_eq!(header(&headers, "x-server-name"), Some(CNAPI_ZONE));
    let (_, _, _, body) = parse_http(&stdout(&dc.run(
        "sdc-cnapi",
        &[&format!("/tasks/{TASK}")],
        None,
    )));
    assert_eq!(body["status"], "failure");
    let (_, _, _, body) = parse_http(&stdout(&dc.run("sdc-cnapi", &["/servers"], None)));
    assert_eq!(body.as_array().unwrap().len(), 2);
    let (_, _, _, body) = parse_http(&stdout(&dc.run(
        "sdc-imgapi",
        &[&format!("/images/{KVM_IMAGE}")],
        None,
    )));
    assert_eq!(body["name"], "ubuntu-certified-14.04");
    let (_, _, _, body) = parse_http(&stdout(&dc.run("sdc-napi", &["/networks"], None)));
    assert_eq!(body[0]["uuid"], NETWORK);
    let (code, _, _, body) = parse_http(&stdout(&dc.run("sdc-vmapi", &["/ping"], None)));
    assert_eq!((code, body["status"].as_str()), (200, Some("OK")));
}

#[test]
fn non_get_methods_are_refused_with_405() {
    let dc = Dc::new();
    let out = dc.run(
        "sdc-vmapi",
        &[&format!("/vms/{VM}?action=stop"), "-X", "POST"],
        None,
    );
    let (code, reason, headers, body) = parse_http(&stdout(&out));
    assert_eq!((code, reason.as_str()), (405, "Method Not Allowed"));
    assert_eq!(
        body,
        json!({"code": "MethodNotAllowedError", "message": "POST is not allowed"})
    );
    assert_eq!(header(&headers, "Allow"), Some("GET, HEAD"));
    // `-X GET` is what people add out of habit: still a GET.
    let (code, _, _, _) = parse_http(&stdout(&dc.run(
        "sdc-vmapi",
        &[&format!("/vms/{VM}"), "-X", "GET"],
        None,
    )));
    assert_eq!(code, 200);
}

#[test]
fn unavailable_service_is_a_curl_connect_failure() {
    let dc = Dc::with(|s| s.api.unavailable = vec!["cnapi".into()]);
    let out = dc.run("sdc-cnapi", &[&format!("/servers/{CN1}")], None);
    assert_eq!(out.status.code(), Some(7));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).starts_with("curl: (7) Failed to connect to cnapi.us-east-1."),
        "{}",
        stderr(&out)
    );
    // Other services still answer.
    assert_eq!(dc.run("sdc-vmapi", &["/ping"], None).status.code(), Some(0));
}

#[test]
fn usage_without_path_and_absent_on_compute_nodes() {
    let dc = Dc::new();
    let out = dc.run("sdc-vmapi", &[], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("Usage:")
            && stdout(&out).contains("[--no-headers] PATH [EXTRA-CURL-ARGS]")
    );
    let out = dc.run("sdc-vmapi", &["/ping"], Some(CN1));
    assert_eq!(out.status.code(), Some(127));
}

#[test]
fn wrappers_and_env_sh_work_from_a_shell() {
    let dc = Dc::new();
    let out = dc.sh(&format!("sdc-vmapi /vms/{VM}/jobs | tail -n +2 | head -c 0; sdc-vmapi --no-headers /vms/{VM} | head -3"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{{\n  \"uuid\": \"{VM}\",\n  \"zonename\": \"{VM}\",\n")
    );
    let env = std::fs::read_to_string(dc.dir().join("env.sh")).unwrap();
    assert!(
        env.starts_with('#')
            && env.contains("export TRITON_SIM_DIR")
            && env.contains("export PATH")
    );
    for command in triton_fake::COMMANDS {
        let path = dc.dir().join("bin").join(command);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o755, "{command}");
    }
}
