//! The filter path allocates nothing per line: reading, classifying and testing the fields a
//! filter needs reuse the reader's buffers. Counted with a global allocator wrapper.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use triton_logs::cli::Filters;
use triton_logs::LogReader;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn filtering_does_not_allocate_per_line() {
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!(
            r#"{{"name":"vmapi","hostname":"hn","pid":1,"level":{},"req_id":"r-{}","msg":"escaped \"quote\" {i}","req":{{"headers":{{"x":"y"}}}},"time":"2024-05-01T10:{:02}:{:02}.000Z","v":0}}"#,
            [30, 40, 50][i % 3],
            i % 7,
            (i / 60) % 60,
            i % 60
        ));
        text.push('\n');
        if i % 10 == 0 {
            text.push_str("    at some.stack (frame.js:1:2)\n");
        }
    }
    let filters = Filters {
        min_level: Some(40.0),
        since: Some("2024-05-01T10:05:00Z".parse().unwrap()),
        until: Some("2024-05-01T10:50:00Z".parse().unwrap()),
        mentions: vec![b"r-3".to_vec()],
        fields: vec![("name".to_string(), "vmapi".to_string())],
        grep: vec!["quote".to_string()],
    };
    let mut reader = LogReader::new(text.as_bytes());
    let mut matched = 0usize;
    let mut lines = 0usize;
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    while reader.advance().unwrap() {
        lines += 1;
        if let Some(record) = reader.current().and_then(|line| line.record) {
            if filters.accepts(&record) && record.req_id().is_some() {
                matched += 1;
            }
        }
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(lines, 22_000);
    assert!(
        matched > 100,
        "the filters should match some records, matched {matched}"
    );
    assert!(
        allocations < 50,
        "{allocations} allocations for {lines} lines: the filter path allocates per line"
    );
}
