//! `sdc-imgapi`: IMGAPI image manifests.
//!
//! Facts from sdc-imgapi: `lib/database.js` (`image <uuid> not found`), `lib/app.js`
//! (`Server: imgapi/<version>`), `bin/sdc-imgapi` in sdc-sdc (its own usage text, `-v`). ListImages
//! returns only `state=active` images unless asked (`state=all`).

use serde_json::{json, Value};

use super::sdc_api::{Api, Request};
use crate::http::{Response, Service};
use crate::sim::Sim;

pub const API: Api = Api {
    command: "sdc-imgapi",
    service: Service { name: "imgapi", role: "imgapi", server: "imgapi/4.13.1", full_response: false },
    usage: "error: no PATH argument given\n\nUsage:\n  sdc-imgapi [-v] PATH [EXTRA-CURL-ARGS]\n\nEnvironment Variables:\n  IMGAPI_URL      Base URL for IMGAPI server. Typically this\n                  is automatically determined.\n",
    route,
};

fn route(sim: &Sim, req: &Request) -> Response {
    let images = &sim.state.api.images;
    match req.parts().as_slice() {
        ["ping"] => Response::ok(
            json!({"ping": "pong", "pid": 2345, "version": "4.13.1", "imgapiVersion": "4.13.1"}),
        ),
        ["images"] => {
            let state = req.query("state").unwrap_or("active");
            let field = |m: &Value, k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            let mut list: Vec<&Value> = images
                .values()
                .filter(|m| {
                    state == "all" || field(m, "state").as_deref().unwrap_or("active") == state
                })
                .filter(|m| {
                    ["name", "os", "type", "owner", "version"].iter().all(|k| {
                        req.query(k)
                            .is_none_or(|v| field(m, k).as_deref() == Some(v))
                    })
                })
                .collect();
            list.sort_by_key(|m| field(m, "published_at"));
            Response::ok(Value::Array(list.into_iter().cloned().collect()))
        }
        ["images", uuid] => match images.get(*uuid) {
            Some(image) => Response::ok(image.clone()),
            None => Response::error(404, "ResourceNotFound", format!("image {uuid} not found")),
        },
        _ => Response::no_route(&req.path),
    }
}
