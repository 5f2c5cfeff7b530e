//! One module per fake command; [`dispatch`] picks it by name.

mod cnapi;
mod imgadm;
mod imgapi;
mod napi;
mod oneachnode;
mod sbcreate;
mod sdc_api;
mod svcs;
mod sysinfo;
mod vmadm;
mod vmapi;
mod workflow;
mod zfs;
mod zoneadm;
mod zpool;

use crate::reply::Reply;
use crate::sim::Sim;

/// Runs the named command (already checked against [`crate::COMMANDS`]).
pub fn dispatch(sim: &Sim, command: &str, args: &[String]) -> Reply {
    match command {
        "sdc-vmapi" => sdc_api::run(sim, &vmapi::API, args),
        "sdc-workflow" => sdc_api::run(sim, &workflow::API, args),
        "sdc-cnapi" => sdc_api::run(sim, &cnapi::API, args),
        "sdc-imgapi" => sdc_api::run(sim, &imgapi::API, args),
        "sdc-napi" => sdc_api::run(sim, &napi::API, args),
        "sdc-oneachnode" => oneachnode::run(sim, args),
        "sdc-sbcreate" => sbcreate::run(sim, args),
        "vmadm" => vmadm::run(sim, args),
        "imgadm" => imgadm::run(sim, args),
        "zfs" => zfs::run(sim, args),
        "zpool" => zpool::run(sim, args),
        "svcs" => svcs::run(sim, args),
        "sysinfo" => sysinfo::run(sim, args),
        "zoneadm" => zoneadm::run(sim, args),
        "zonename" => zoneadm::zonename(args),
        other => Reply::not_found(other),
    }
}
