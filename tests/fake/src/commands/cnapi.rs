//! `sdc-cnapi`: CNAPI servers and tasks.
//!
//! Facts from sdc-cnapi: `lib/endpoints/index.js` (`Server <uuid> not found`),
//! `lib/endpoints/tasks.js` (`no such task found`), `lib/server.js` (`Server: cnapi/<version>`).

use serde_json::{json, Value};

use super::sdc_api::{Api, Request};
use crate::http::{Response, Service};
use crate::sim::Sim;

pub const API: Api = Api {
    command: "sdc-cnapi",
    service: Service { name: "cnapi", role: "cnapi", server: "cnapi/1.26.6", full_response: false },
    usage: "error: no PATH argument given\n\nUsage:\n        /opt/smartdc/bin/sdc-cnapi [--no-headers] PATH [EXTRA-CURL-ARGS]\n\n",
    route,
};

fn route(sim: &Sim, req: &Request) -> Response {
    let api = &sim.state.api;
    match req.parts().as_slice() {
        ["ping"] => Response::ok(json!({
            "ready": true,
            "healthy": true,
            "services": {"moray": "online", "workflow": "online"}
        })),
        ["servers"] => {
            let servers: Vec<Value> = api
                .servers
                .values()
                .filter(|s| {
                    ["hostname", "uuid"].iter().all(|k| {
                        req.query(k)
                            .is_none_or(|v| s.get(*k).and_then(Value::as_str) == Some(v))
                    })
                })
                .filter(|s| {
                    ["headnode", "setup"].iter().all(|k| {
                        req.query(k).is_none_or(|v| {
                            s.get(*k)
                                .and_then(Value::as_bool)
                                .map(|b| b.to_string())
                                .as_deref()
                                == Some(v)
                        })
                    })
                })
                .cloned()
                .collect();
            Response::ok(Value::Array(servers))
        }
        ["servers", uuid] => match api.servers.get(*uuid) {
            Some(server) => Response::ok(server.clone()),
            None => Response::error(404, "ResourceNotFound", format!("Server {uuid} not found")),
        },
        ["tasks", id] => match api.tasks.get(*id) {
            Some(task) => Response::ok(task.clone()),
            None => Response::error(404, "ResourceNotFound", "no such task found"),
        },
        _ => Response::no_route(&req.path),
    }
}
