//! Recognising the identifiers Triton joins everything on.

/// True for a canonical 8-4-4-4-12 hex UUID (either case).
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return false;
    }
    bytes.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_uuids() {
        assert!(is_uuid("8f1f3c9e-2a5b-4c1d-9e0f-123456789abc"));
        assert!(!is_uuid("8f1f3c9e-2a5b-4c1d-9e0f-123456789ab"));
        assert!(!is_uuid("8f1f3c9e+2a5b-4c1d-9e0f-123456789abc"));
    }
}
