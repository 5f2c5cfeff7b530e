//! Shared by the integration tests: running the real binary, building inputs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_triton-analyze");

pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run triton-analyze")
}

pub fn run_paths(args: &[&str], paths: &[&Path]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for p in paths {
        cmd.arg(p);
    }
    cmd.output().expect("run triton-analyze")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// Writes `text` at `root/rel`, creating directories.
pub fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

/// Packs a directory into a plain gzip tarball (as a customer would with `tar czf`).
pub fn tarball(dir: &Path, out: &Path) {
    let file = std::fs::File::create(out).expect("create tarball");
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.append_dir_all("attached", dir).expect("append");
    tar.into_inner().expect("tar").finish().expect("gzip");
}

pub const VM: &str = "a8d2e0fd-1224-468d-ad0b-9411b63ab6d5";
pub const SERVER: &str = "44454c4c-3000-1052-8043-b3c04f485331";

/// The guide's provision-7.0.24 job failing in cnapi.poll_task (KVM), with its chain.
pub fn guide_kvm_job() -> String {
    format!(
        r#"{{
  "uuid": "7c992699-6166-42bd-94ba-1de449d20d7e",
  "name": "provision-7.0.24",
  "execution": "failed",
  "created_at": "2013-12-18T22:21:32.992Z",
  "elapsed": 451.523,
  "timeout": 3810,
  "params": {{"x-request-id": "bf4d8930-6832-11e3-9e6c-91d56d6d04e1", "vm_uuid": "{VM}", "brand": "kvm", "server_uuid": "{SERVER}"}},
  "chain": [
    {{"name": "common.validate_params", "timeout": 10}},
    {{"name": "cnapi.provision_vm", "timeout": 10}},
    {{"name": "cnapi.poll_task", "timeout": 3600}},
    {{"name": "vmapi.check_state", "timeout": 120}}
  ],
  "chain_results": [
    {{"result": "All parameters OK!", "error": "", "name": "common.validate_params",
      "started_at": "2013-12-18T22:21:37.283Z", "finished_at": "2013-12-18T22:21:37.679Z"}},
    {{"result": "Provision queued!", "error": "", "name": "cnapi.provision_vm",
      "started_at": "2013-12-18T22:22:59.596Z", "finished_at": "2013-12-18T22:23:10.526Z"}},
    {{"result": "", "error": {{"name": "Error", "message": "VM.create error: timed out waiting for /var/svc/provisioning to move for {VM}"}},
      "name": "cnapi.poll_task", "started_at": "2013-12-18T22:23:10.562Z", "finished_at": "2013-12-18T22:28:14.305Z"}}
  ]
}}"#
    )
}

/// qemu's vm.log as the guide shows a memory failure.
pub const GUIDE_VM_LOG: &str = "== Zone privileges ==\nfile_link_any\n=== ARGV ===\n/smartdc/bin/qemu-system-x86_64\n-m\n4096\n=== OUTPUT (2013-12-18T22:23:20Z) ===\nFailed to allocate memory: Resource temporarily unavailable\n";
