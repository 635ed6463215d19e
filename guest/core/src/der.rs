//! A minimal reader of DER elements, for the few structures the X.509 parser
//! does not cover (SCT lists, CMS timestamp tokens). Definite lengths only,
//! low tag numbers only; anything else reads as malformed.

/// One DER element.
#[derive(Clone, Copy, Debug)]
pub struct Element<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    /// Header and content together.
    pub whole: &'a [u8],
}

/// Reads consecutive elements from some input.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// The next element, whatever its tag.
    pub fn any(&mut self) -> Option<Element<'a>> {
        let input = self.input;
        let (&tag, after_tag) = input.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, mut rest) = after_tag.split_first()?;
        let len = match first {
            0..=0x7f => usize::from(first),
            0x81..=0x84 => {
                let n = usize::from(first & 0x7f);
                let bytes = rest.get(..n)?;
                rest = &rest[n..];
                bytes
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
            }
            _ => return None,
        };
        let content = rest.get(..len)?;
        let header = input.len() - rest.len();
        self.input = &rest[len..];
        Some(Element {
            tag,
            content,
            whole: &input[..header + len],
        })
    }

    /// The next element, which must have `tag`.
    pub fn expect(&mut self, tag: u8) -> Option<Element<'a>> {
        if self.peek_tag()? != tag {
            return None;
        }
        self.any()
    }

    /// The next element if it has `tag`; nothing is consumed otherwise.
    pub fn optional(&mut self, tag: u8) -> Option<Element<'a>> {
        (self.peek_tag() == Some(tag)).then(|| self.any()).flatten()
    }
}

/// Encodes one element.
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const OID: u8 = 0x06;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const GENERALIZED_TIME: u8 = 0x18;
/// `[0]`, constructed.
pub const CONTEXT_0: u8 = 0xa0;
/// `[1]`, constructed.
pub const CONTEXT_1: u8 = 0xa1;
/// `[3]`, constructed.
pub const CONTEXT_3: u8 = 0xa3;
