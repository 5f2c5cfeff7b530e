//! Same seed, same bytes; another seed, other uuids.

mod support;

use support::{files, generate};

#[test]
fn same_seed_gives_identical_trees() {
    let a = generate("kvm-qemu-out-of-memory", None, 42);
    let b = generate("kvm-qemu-out-of-memory", None, 42);
    let fa = files(a.path());
    let fb = files(b.path());
    assert_eq!(fa, fb, "file lists differ");
    assert!(fa.len() > 100);
    for rel in &fa {
        let x = std::fs::read(a.path().join(rel)).unwrap();
        let y = std::fs::read(b.path().join(rel)).unwrap();
        assert!(x == y, "{} differs between runs", rel.display());
    }
}

#[test]
fn different_seeds_give_different_uuids() {
    let a = generate("kvm-qemu-out-of-memory", None, 1);
    let b = generate("kvm-qemu-out-of-memory", None, 2);
    let va = &a.expected["provisions"][0];
    let vb = &b.expected["provisions"][0];
    assert_ne!(va["vm_uuid"], vb["vm_uuid"]);
    assert_ne!(va["job_uuid"], vb["job_uuid"]);
    assert_ne!(a.expected["headnode"], b.expected["headnode"]);
}
