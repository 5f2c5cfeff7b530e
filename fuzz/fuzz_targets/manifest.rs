//! Any bytes as `manifest.json`: the format stamp and the typed manifest (as the bundle reader
//! parses them), the analyzer's own view of it, and the layout helpers fed with what the manifest
//! claims. A manifest that parses must survive a write-and-reread unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use triton_bundle::manifest::Origin;
use triton_bundle::{format, layout, FormatStamp, Manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(stamp) = serde_json::from_slice::<FormatStamp>(data) {
        let _ = format::parse_version(&stamp.format_version);
    }
    if let Ok(manifest) = serde_json::from_slice::<Manifest>(data) {
        let text = serde_json::to_string(&manifest).expect("a parsed manifest serializes");
        let again: Manifest = serde_json::from_str(&text).expect("a written manifest rereads");
        assert_eq!(manifest, again, "manifest changed in a write-and-reread");
        for item in &manifest.items {
            if let Some(slice) = &item.slice {
                for line in [0, 1, 2, u64::MAX] {
                    let _ = slice.original_line(line);
                }
            }
            let host = item.host.as_deref().unwrap_or("");
            let _ = layout::host_command(host, &item.source);
            match &item.origin {
                Origin::File { path } => {
                    let _ = layout::host_file(host, path);
                }
                Origin::Command { argv } => {
                    let _ = layout::host_command(host, &argv.join(" "));
                }
            }
            if let Some(path) = &item.path {
                let _ = layout::api(&item.source, path);
            }
        }
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = triton_analyze::input::manifest::parse(&value);
    }
});
