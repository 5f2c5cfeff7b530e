//! Archives built in memory for the tests: tar (the tar crate), gzip (flate2), bzip2 (bzip2).

use std::io::Write;

/// A tar of regular files, in order.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_714_557_600);
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// A tar member with the name bytes written verbatim (the tar crate refuses `..` in `set_path`).
pub fn raw_member(
    out: &mut Vec<u8>,
    name: &[u8],
    kind: tar::EntryType,
    link: Option<&str>,
    data: &[u8],
) {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    if let Some(link) = link {
        header.set_link_name(link).unwrap();
    }
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// bzip2 with 900 kB blocks, as `bzip2` and `tar cjf` make by default.
pub fn bzip2(data: &[u8]) -> Vec<u8> {
    bzip2_level(data, bzip2::Compression::default())
}

/// bzip2 with this block size (`fast()`: 100 kB blocks, so small data spans several).
pub fn bzip2_level(data: &[u8], level: bzip2::Compression) -> Vec<u8> {
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), level);
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Whether stock `tar` with bzip2 support runs here (tests using it say so when it does not).
pub fn stock_tar_bzip2() -> bool {
    let tar = std::process::Command::new("tar").arg("--version").output();
    let bzip2 = std::process::Command::new("bzip2")
        .arg("--help")
        .stderr(std::process::Stdio::null())
        .output();
    let present = tar.is_ok_and(|o| o.status.success()) && bzip2.is_ok();
    if !present {
        eprintln!("note: stock tar or bzip2 not found; the stock-tar part of this test is skipped");
    }
    present
}
