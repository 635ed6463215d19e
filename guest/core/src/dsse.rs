//! DSSE: the pre-authentication encoding a DSSE signature covers.

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`,
/// where LEN is the length in bytes, in ASCII decimal. Bytes, not characters:
/// counting UTF-16 units or Latin-1 was a real bug (GHSA-jfc7-64v2-mr8c).
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let header = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    );
    let mut out = Vec::with_capacity(header.len() + payload.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::pae;

    #[test]
    fn lengths_are_in_bytes() {
        assert_eq!(pae("t", b"{}"), b"DSSEv1 1 t 2 {}".to_vec());
        // "é" is one character, one UTF-16 unit, and two bytes.
        assert_eq!(
            pae("caf\u{e9}", b""),
            "DSSEv1 5 caf\u{e9} 0 ".as_bytes().to_vec()
        );
        assert_ne!(
            pae("caf\u{e9}", b""),
            "DSSEv1 4 caf\u{e9} 0 ".as_bytes().to_vec()
        );
    }
}
