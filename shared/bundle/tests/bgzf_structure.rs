//! The gzip layer checked byte by byte against the BGZF specification (SAM/BAM spec, section
//! 4.1), independently of the writer and of noodles.

mod common;

use std::io::Read;

use common::*;
use flate2::read::DeflateDecoder;
use triton_bundle::BundleWriter;

const EOF_BLOCK: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0, 0xff, 0x06, 0, 0x42, 0x43, 0x02, 0, 0x1b, 0, 0x03, 0, 0,
    0, 0, 0, 0, 0, 0, 0,
];

struct Member {
    isize: u32,
    data: Vec<u8>,
}

fn parse_members(bytes: &[u8]) -> Vec<Member> {
    let mut members = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let b = &bytes[at..];
        assert!(b.len() >= 18, "member at {at} too short");
        assert_eq!(
            &b[..4],
            &[0x1f, 0x8b, 8, 4],
            "member at {at}: gzip header with FEXTRA"
        );
        let xlen = u16::from_le_bytes([b[10], b[11]]) as usize;
        let extra = &b[12..12 + xlen];
        let mut bsize = None;
        let mut rest = extra;
        while rest.len() >= 4 {
            let slen = u16::from_le_bytes([rest[2], rest[3]]) as usize;
            if &rest[..2] == b"BC" {
                assert_eq!(slen, 2, "BC subfield length");
                bsize = Some(u16::from_le_bytes([rest[4], rest[5]]) as usize);
            }
            rest = &rest[4 + slen..];
        }
        let total = bsize.expect("BC subfield with BSIZE present") + 1;
        assert!(total <= 65536, "member at {at} is {total} bytes");
        let member = &b[..total];
        let cdata = &member[12 + xlen..total - 8];
        let crc = u32::from_le_bytes(member[total - 8..total - 4].try_into().unwrap());
        let isize = u32::from_le_bytes(member[total - 4..].try_into().unwrap());
        let mut data = Vec::new();
        DeflateDecoder::new(cdata).read_to_end(&mut data).unwrap();
        assert_eq!(data.len() as u32, isize, "ISIZE of member at {at}");
        let mut hasher = flate2::Crc::new();
        hasher.update(&data);
        assert_eq!(hasher.sum(), crc, "CRC of member at {at}");
        members.push(Member { isize, data });
        at += total;
    }
    members
}

#[test]
fn every_member_is_a_bgzf_block_and_the_file_ends_with_the_eof_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.tar.gz");
    let mut writer = BundleWriter::create(&path, "top").unwrap();
    // Incompressible data is the hard case: the deflated block must still fit in 64 KiB.
    let noisy = noise(3, 300_000);
    writer.add_bytes("noise.bin", &noisy).unwrap();
    writer
        .add_bytes("text.log", &b"line of log\n".repeat(20_000))
        .unwrap();
    writer.finish(&sample_manifest(vec![])).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.ends_with(&EOF_BLOCK), "BGZF EOF block at the end");
    let members = parse_members(&bytes);
    assert!(members.len() > 8, "{} members", members.len());
    let last = members.last().unwrap();
    assert_eq!((last.isize, last.data.len()), (0, 0));
    for member in &members {
        assert!(member.isize <= 65536);
    }
    // The members, concatenated, are the tar stream stock tools see.
    let tar_stream: Vec<u8> = members.iter().flat_map(|m| m.data.clone()).collect();
    let mut archive = tar::Archive::new(&tar_stream[..]);
    let mut found = false;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("top/noise.bin") {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            assert_eq!(data, noisy);
            found = true;
        }
    }
    assert!(found);
}
