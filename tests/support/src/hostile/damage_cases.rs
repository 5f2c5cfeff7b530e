//! Damage in the middle of a compressed stream, and a single compressed file that inflates far
//! beyond its size. A BGZF bundle reads on past a damaged member and says what was lost; plain
//! gzip has no point to resume at and stops there; a single-file bomb is refused before any of
//! it is delivered.

use std::io::{self, Write};

use super::archive::{bgzf, gzip, tar_bytes, write_file, Member};
use super::archive_cases::noise;
use super::bundle::*;
use super::{Cases, Outcome};

/// In the job placed after the damage: the report shows it only if the job was read.
pub const LATE_JOB_ERROR: &str = "VM.create error: late job, read after the damaged part";

/// A bundle whose failed job comes after six 100 kB fillers (each spanning BGZF blocks), so
/// that damage among the fillers leaves the job and the manifest after it.
fn late_job_members(filler: impl Fn(u64) -> Vec<u8>) -> Vec<Member> {
    let mut members = vec![
        Member::file(in_bundle(b"bundle-format.json"), format_stamp("1.1")),
        Member::file(in_bundle(vm_log_path().as_bytes()), vm_log("")),
    ];
    for i in 0..6 {
        members.push(Member::file(
            in_bundle(format!("hosts/filler{i}.txt").as_bytes()),
            filler(i),
        ));
    }
    members.push(Member::file(
        in_bundle(JOB_PATH.as_bytes()),
        failed_job(LATE_JOB_ERROR),
    ));
    members.push(Member::file(
        in_bundle(b"manifest.json"),
        default_manifest(),
    ));
    members
}

/// About `len` bytes of log lines (compressible, so damage breaks the deflate codes).
fn log_text(seed: u64, len: usize) -> Vec<u8> {
    let mut text = String::with_capacity(len + 200);
    let mut n = 0;
    while text.len() < len {
        text.push_str(&vmapi_record(
            "30",
            &format!("\"2024-05-01T10:{:02}:{:02}.000Z\"", n / 60 % 60, n % 60),
            &format!("filler {seed} line {n}"),
        ));
        text.push('\n');
        n += 1;
    }
    text.into_bytes()
}

pub fn add(cases: &mut Cases) -> io::Result<()> {
    // BGZF blocks of 60 KiB of tar: block 4 holds the end of filler2 and the header of filler3.
    let path = cases.input("bgzf-corrupt-middle-block", "bundle.tar.gz")?;
    let members = late_job_members(|i| noise(i, 100_000));
    write_file(&path, &bgzf(&tar_bytes(&members), &[4]))?;
    cases.push(
        "bgzf-corrupt-middle-block",
        vec![path],
        Outcome::Partial("damaged BGZF data at compressed byte"),
    );
    let case = cases.last();
    // filler2 is cut (named); filler3's header was in the block (its name is lost); the
    // job and the manifest after the damage are read.
    case.also = vec![
        "filler2.txt: not read: lost: cut after",
        "reading resumed after compressed byte",
        "filler4.txt",
        "names unknown",
        LATE_JOB_ERROR,
    ];
    case.never = vec!["no manifest", "reading stopped early"];

    let path = cases.input("gzip-corrupt-middle", "bundle.tar.gz")?;
    let mut gz = gzip(&tar_bytes(&late_job_members(|i| log_text(i, 100_000))));
    let middle = gz.len() / 2;
    for byte in &mut gz[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    write_file(&path, &gz)?;
    cases.push(
        "gzip-corrupt-middle",
        vec![path],
        Outcome::Partial("reading stopped early"),
    );
    cases.last().never = vec![LATE_JOB_ERROR];

    // One gzip file of 1024 members of 1 MiB of newlines each (deflate cannot do better than
    // about 1000 to 1 per layer): 1 MiB on disk, 1 GiB inflated.
    let path = cases.input("gzip-bomb-single", "smartdc-site-vmapi:default.log.gz")?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&[b'\n'; 1 << 20])?;
    let member = encoder.finish()?;
    let mut out = io::BufWriter::new(std::fs::File::create(&path)?);
    for _ in 0..1024 {
        out.write_all(&member)?;
    }
    out.flush()?;
    cases.push(
        "gzip-bomb-single",
        vec![path],
        Outcome::Refused("decompression bomb"),
    );
    Ok(())
}
