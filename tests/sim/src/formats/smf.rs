//! SMF method lines that svc.startd writes into every service log around the service's own
//! output: `[ Jan  8 06:33:54 Executing start method ("..."). ]`.

use crate::clock::{self, Ms};

pub fn line(t: Ms, text: &str) -> String {
    format!("[ {} {} ]", clock::smf_stamp(t), text)
}

pub fn enabled(t: Ms) -> String {
    line(t, "Enabled.")
}

pub fn executing_start(t: Ms, method: &str) -> String {
    line(t, &format!("Executing start method (\"{method}\")."))
}

pub fn method_exited(t: Ms, method: &str, status: i32) -> String {
    line(
        t,
        &format!("Method \"{method}\" exited with status {status}."),
    )
}

pub fn stopping_all_exited(t: Ms) -> String {
    line(t, "Stopping because all processes in service exited.")
}

pub fn executing_stop_kill(t: Ms) -> String {
    line(t, "Executing stop method (:kill).")
}

pub fn restarting_too_quickly(t: Ms) -> String {
    line(t, "Restarting too quickly, changing state to maintenance.")
}
