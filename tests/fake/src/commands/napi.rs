//! `sdc-napi`: NAPI networks.
//!
//! Facts from sdc-napi: `lib/endpoints/networks/common.js` (`network not found`), `lib/napi.js`
//! (`Server` is the package description, "Triton Networking API").

use serde_json::{json, Value};

use super::sdc_api::{Api, Request};
use crate::http::{Response, Service};
use crate::sim::Sim;

pub const API: Api = Api {
    command: "sdc-napi",
    service: Service { name: "napi", role: "napi", server: "Triton Networking API", full_response: false },
    usage: "error: no PATH argument given\n\nUsage:\n        /opt/smartdc/bin/sdc-napi [--no-headers] PATH [EXTRA-CURL-ARGS]\n\n",
    route,
};

fn route(sim: &Sim, req: &Request) -> Response {
    let networks = &sim.state.api.networks;
    match req.parts().as_slice() {
        ["ping"] => Response::ok(json!({
            "config": {"fabrics_enabled": false},
            "healthy": true,
            "services": {"moray": "online"},
            "status": "OK"
        })),
        ["networks"] => {
            let list: Vec<Value> = networks
                .values()
                .filter(|n| {
                    ["name", "nic_tag", "owner_uuid"].iter().all(|k| {
                        req.query(k)
                            .is_none_or(|v| n.get(*k).and_then(Value::as_str) == Some(v))
                    })
                })
                .cloned()
                .collect();
            Response::ok(Value::Array(list))
        }
        ["networks", uuid] => match networks.get(*uuid) {
            Some(network) => Response::ok(network.clone()),
            None => Response::error(404, "ResourceNotFound", "network not found"),
        },
        _ => Response::no_route(&req.path),
    }
}
