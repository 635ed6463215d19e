//! A certificate's name for messages, as `CN=…, O=…`: the attribute types
//! a Sigstore CA uses by their short names, any other by its dotted OID.
//! x509-parser's own `Display` builds a registry of every OID it knows,
//! which would be most of a hundred kilobytes of the component for this.

use x509_parser::x509::X509Name;

/// Short names of the attribute types of RFC 4519 that CA names use.
const SHORT_NAMES: [(&str, &str); 9] = [
    ("2.5.4.3", "CN"),
    ("2.5.4.5", "serialNumber"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
];

/// `name` as text: relative names joined by `, `, the attributes of one by
/// ` + `; a value that is not a string, in hex.
pub fn display(name: &X509Name<'_>) -> String {
    let mut text = String::new();
    for (i, rdn) in name.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        for (j, attribute) in rdn.iter().enumerate() {
            if j > 0 {
                text.push_str(" + ");
            }
            let oid = attribute.attr_type().to_id_string();
            let short = SHORT_NAMES.iter().find(|(id, _)| *id == oid);
            text.push_str(short.map_or(oid.as_str(), |(_, short)| short));
            text.push('=');
            match attribute.as_str() {
                Ok(value) => text.push_str(value),
                Err(_) => text.push_str(&crate::hex::encode(attribute.attr_value().data)),
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use x509_parser::error::X509Error;
    use x509_parser::prelude::FromDer;

    use super::*;

    #[test]
    fn short_names_dotted_oids_and_multi_valued_names()
    -> Result<(), x509_parser::nom::Err<X509Error>> {
        // SEQUENCE { SET { CN=sig }, SET { O=b, 1.2.3=INTEGER 5 } }
        let der = [
            0x30, 0x23, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b's',
            b'i', b'g', 0x31, 0x13, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x13, 0x01, b'b',
            0x30, 0x07, 0x06, 0x02, 0x2a, 0x03, 0x02, 0x01, 0x05,
        ];
        let (_, name) = X509Name::from_der(&der)?;
        assert_eq!(display(&name), "CN=sig, O=b + 1.2.3=05");
        Ok(())
    }
}
