//! Stand-alone `logs` command (the same as `triton-analyze logs`).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(triton_logs::logs_main(&args));
}
