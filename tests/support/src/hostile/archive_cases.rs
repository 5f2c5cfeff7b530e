//! Archive-level hostile inputs: unsafe names, links and devices, lies about sizes, bombs, damaged
//! compression and containers, odd nesting and sheer numbers.

use std::io::{self, Write};
use std::path::Path;

use tar::EntryType;

use super::archive::{
    bgzf, gzip, tar_bytes, write_file, write_many_entries, zip_bytes, Member, ZipMember,
};
use super::bundle::*;
use super::deflate::{crc_of_repeat, deflate_repeat, nested_gzip_bomb};
use super::{Cases, Outcome};

const TEN_GIB: u64 = 10 << 30;

fn tar_gz_bundle(path: &Path, extra: Vec<Member>) -> io::Result<()> {
    write_file(path, &gzip(&tar_bytes(&bundle_members(extra))))
}

/// A bundle whose one extra entry is `member`; the rest must still be read.
fn one_bad_entry(
    cases: &mut Cases,
    name: &'static str,
    member: Member,
    outcome: Outcome,
) -> io::Result<()> {
    let path = cases.input(name, "bundle.tar.gz")?;
    tar_gz_bundle(&path, vec![member])?;
    cases.push(name, vec![path], outcome);
    Ok(())
}

pub fn add(cases: &mut Cases) -> io::Result<()> {
    use Outcome::{Partial, Refused};
    let reg = EntryType::Regular;
    let raw = |name: &[u8], kind: EntryType, link: Option<&[u8]>| Member {
        name: name.to_vec(),
        kind,
        link: link.map(<[u8]>::to_vec),
        declared: None,
        data: if kind == reg {
            b"escaped\n".to_vec()
        } else {
            Vec::new()
        },
    };
    one_bad_entry(
        cases,
        "name-dotdot",
        raw(&in_bundle(b"../../x"), reg, None),
        Partial("contains '..'"),
    )?;
    one_bad_entry(
        cases,
        "name-absolute",
        raw(b"/etc/x", reg, None),
        Partial("absolute path"),
    )?;
    one_bad_entry(
        cases,
        "name-backslash-dotdot",
        raw(&in_bundle(b"..\\..\\x"), reg, None),
        Partial("contains '..'"),
    )?;
    one_bad_entry(
        cases,
        "name-dos-drive",
        raw(b"C:\\Windows\\x", reg, None),
        Partial("absolute path"),
    )?;
    let mut nul = in_bundle(b"hosts/a");
    nul.extend_from_slice(&[0; 150]);
    nul.extend_from_slice(b"/../../etc/passwd");
    one_bad_entry(
        cases,
        "name-nul",
        raw(&nul, reg, None),
        Partial("contains NUL"),
    )?;
    one_bad_entry(
        cases,
        "name-control-chars",
        raw(&in_bundle(b"hosts/\x1b[31mred\x07\x08\r.log"), reg, None),
        Partial(JOB),
    )?;
    one_bad_entry(
        cases,
        "name-not-utf8",
        raw(&in_bundle(b"hosts/\xff\xfe\xc0.log"), reg, None),
        Partial("not UTF-8"),
    )?;
    let long = in_bundle(&[b'd'; 70_000]);
    one_bad_entry(
        cases,
        "name-gnu-long-name-huge",
        raw(&long, reg, None),
        Partial("GNU long name longer than"),
    )?;

    let path = cases.input("symlink-outside", "bundle.tar.gz")?;
    tar_gz_bundle(
        &path,
        vec![
            raw(
                &in_bundle(b"hosts/escape"),
                EntryType::Symlink,
                Some(b"/etc"),
            ),
            raw(
                &in_bundle(b"hosts/up"),
                EntryType::Symlink,
                Some(b"../../../../tmp"),
            ),
            raw(&in_bundle(b"hosts/escape/passwd"), reg, None),
            raw(&in_bundle(b"hosts/up/planted"), reg, None),
        ],
    )?;
    cases.push("symlink-outside", vec![path], Partial("symbolic link"));
    let path = cases.input("hardlink-outside", "bundle.tar.gz")?;
    tar_gz_bundle(
        &path,
        vec![
            raw(
                &in_bundle(b"hosts/shadow"),
                EntryType::Link,
                Some(b"/etc/shadow"),
            ),
            raw(&in_bundle(b"hosts/shadow"), reg, None),
        ],
    )?;
    cases.push("hardlink-outside", vec![path], Partial("hard link"));
    one_bad_entry(
        cases,
        "char-device",
        raw(&in_bundle(b"hosts/null"), EntryType::Char, None),
        Partial("character device"),
    )?;
    one_bad_entry(
        cases,
        "block-device",
        raw(&in_bundle(b"hosts/sda"), EntryType::Block, None),
        Partial("block device"),
    )?;
    one_bad_entry(
        cases,
        "fifo",
        raw(&in_bundle(b"hosts/pipe"), EntryType::Fifo, None),
        Partial("fifo"),
    )?;

    let path = cases.input("duplicate-names", "bundle.tar.gz")?;
    tar_gz_bundle(
        &path,
        vec![
            Member::file(
                in_bundle(JOB_PATH.as_bytes()),
                failed_job("second copy of the job"),
            ),
            Member::file(in_bundle(JOB_PATH.as_bytes()), "{\"not\": \"a job\"}"),
        ],
    )?;
    cases.push("duplicate-names", vec![path], Partial(JOB));

    let mut huge = Member::file(in_bundle(vmapi_log_path().as_bytes()), "{\"short\":1}\n");
    huge.declared = Some(8 << 30);
    let path = cases.input("huge-declared-size", "bundle.tar.gz")?;
    let mut members = bundle_members(vec![]);
    members.insert(2, huge);
    write_file(&path, &gzip(&tar_bytes(&members)))?;
    cases.push("huge-declared-size", vec![path], Partial("truncated"));

    // Damaged compression and containers.
    let good = tar_bytes(&bundle_members(vec![Member::file(
        in_bundle(b"hosts/padding.txt"),
        vec![b'p'; 200_000],
    )]));
    let path = cases.input("truncated-gzip", "bundle.tar.gz")?;
    let gz = gzip(&good);
    write_file(&path, &gz[..gz.len() * 2 / 3])?;
    cases.push(
        "truncated-gzip",
        vec![path],
        Partial("reading stopped early"),
    );
    let path = cases.input("truncated-tar", "bundle.tar")?;
    write_file(&path, &good[..good.len() - 150_000])?;
    cases.push(
        "truncated-tar",
        vec![path],
        Partial("reading stopped early"),
    );
    let path = cases.input("gzip-garbage-after-header", "bundle.tar.gz")?;
    let mut garbage = gz[..10].to_vec();
    garbage.extend_from_slice(&[0xff; 4096]);
    write_file(&path, &garbage)?;
    cases.push(
        "gzip-garbage-after-header",
        vec![path],
        Refused("cannot read"),
    );

    let path = cases.input("bgzf-without-eof-block", "bundle.tar.gz")?;
    let whole = bgzf(&tar_bytes(&bundle_members(vec![])), &[]);
    write_file(&path, &whole[..whole.len() - 28])?;
    cases.push(
        "bgzf-without-eof-block",
        vec![path],
        Partial("end-of-file block"),
    );

    // Zip.
    let job = failed_job("zip job");
    let good_zip = [ZipMember::stored(JOB_PATH, job.as_bytes())];
    let path = cases.input("zip-bad-central-directory", "bundle.zip")?;
    let mut bytes = zip_bytes(&good_zip, &[(0, JOB_PATH.into())]);
    let eocd = bytes.len() - 22;
    bytes[eocd + 16..eocd + 20].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    write_file(&path, &bytes)?;
    cases.push(
        "zip-bad-central-directory",
        vec![path],
        Refused("zip central directory"),
    );
    let path = cases.input("zip-traversal", "bundle.zip")?;
    let members = [
        ZipMember::stored("../../evil.txt", b"x"),
        ZipMember::stored("/etc/evil.txt", b"x"),
        ZipMember::stored("..\\..\\evil.txt", b"x"),
        ZipMember::stored(JOB_PATH, job.as_bytes()),
    ];
    let central: Vec<(usize, Vec<u8>)> = members
        .iter()
        .enumerate()
        .map(|(i, m)| (i, m.name.clone()))
        .collect();
    write_file(&path, &zip_bytes(&members, &central))?;
    cases.push("zip-traversal", vec![path], Partial("contains '..'"));
    zip_bomb(cases)?;

    // Bombs and nesting.
    let path = cases.input("gzip-bomb-nested", "smartdc-site-vmapi:default.log.gz")?;
    let record = format!(
        "{}\n",
        vmapi_record("30", "\"2024-05-01T10:00:00.000Z\"", "boom")
    );
    nested_gzip_bomb(
        io::BufWriter::new(std::fs::File::create(&path)?),
        record.as_bytes(),
        TEN_GIB,
    )?;
    cases.push("gzip-bomb-nested", vec![path], Partial("larger than"));
    cases.last().logs = true;

    let innermost = tar_bytes(&[Member::file(
        &b"deep/smartdc-site-vmapi:default.log"[..],
        format!(
            "{}\n",
            vmapi_record("50", "\"2024-05-01T10:00:00.000Z\"", "deep")
        ),
    )]);
    let middle = tar_bytes(&[Member::file(&b"inner.tar"[..], innermost)]);
    let outer = tar_bytes(&[Member::file(&b"middle.tar"[..], middle)]);
    let path = cases.input("tar-in-tar-in-tar", "outer.tar.gz")?;
    write_file(&path, &gzip(&outer))?;
    cases.push("tar-in-tar-in-tar", vec![path], Partial("(1 entries)"));

    let path = cases.input("million-entries", "many.tar.gz")?;
    write_many_entries(&path, 1_000_000)?;
    cases.push("million-entries", vec![path], Partial("(1000000 entries)"));
    cases.last().logs = true;

    let path = cases.input("empty-tar-gz", "empty.tar.gz")?;
    write_file(&path, &gzip(&[0; 1024]))?;
    cases.push("empty-tar-gz", vec![path], Partial("empty.tar.gz"));
    let path = cases.input("empty-file", "empty.tar.gz")?;
    write_file(&path, b"")?;
    cases.push("empty-file", vec![path], Partial("empty.tar.gz"));
    let path = cases.input("not-an-archive", "bundle.tar.gz")?;
    write_file(&path, &noise(7, 300_000))?;
    cases.push("not-an-archive", vec![path], Partial("bundle.tar.gz"));
    let path = cases.input("xz-compressed", "bundle.tar.xz")?;
    let mut xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0];
    xz.extend_from_slice(&noise(8, 1000));
    write_file(&path, &xz)?;
    cases.push("xz-compressed", vec![path], Refused("xz-compressed"));
    let mut pax = Member::file(&b"PaxHeader/x"[..], vec![b'7'; 2 << 20]);
    pax.kind = EntryType::XHeader;
    one_bad_entry(
        cases,
        "pax-header-huge",
        pax,
        Partial("pax header longer than"),
    )?;
    Ok(())
}

/// Overlapping members (Fifield's construction): one 4 MiB deflate stream listed under 2560
/// names, 10 GiB in all.
fn zip_bomb(cases: &mut Cases) -> io::Result<()> {
    let record = format!(
        "{}\n",
        vmapi_record("30", "\"2024-05-01T10:00:00.000Z\"", "zip boom")
    );
    let size = 4u64 << 20;
    let mut data = Vec::new();
    deflate_repeat(&mut data, record.as_bytes(), size)?;
    let member = ZipMember {
        name: b"bomb/smartdc-site-vmapi:default.log".to_vec(),
        method: 8,
        data,
        crc: crc_of_repeat(record.as_bytes(), size).finalize(),
        size,
        mode: 0o100644,
    };
    let central: Vec<(usize, Vec<u8>)> = (0..2560)
        .map(|i| {
            (
                0,
                format!("bomb/smartdc-site-vmapi:default.{i:03}.log").into_bytes(),
            )
        })
        .collect();
    let path = cases.input("zip-bomb-overlapping", "bomb.zip")?;
    let mut file = std::fs::File::create(&path)?;
    file.write_all(&zip_bytes(&[member], &central))?;
    cases.push(
        "zip-bomb-overlapping",
        vec![path],
        Outcome::Partial("overlaps"),
    );
    Ok(())
}

/// Bytes that do not compress and look like nothing (xorshift).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
