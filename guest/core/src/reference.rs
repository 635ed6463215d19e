//! Image references, parsed and normalized as Docker and current Talos do.
//!
//! Grammar: the distribution reference grammar (`name[:tag][@digest]`), with
//! Docker Hub forms normalized to `docker.io/library/...`. Rules match against
//! [`Reference::repository`], which keeps the registry port and drops tag and digest.

use std::fmt;

/// The longest name (registry plus path) the grammar allows.
const NAME_MAX: usize = 255;
/// The longest tag the grammar allows.
const TAG_MAX: usize = 128;
/// No input reference is longer than name, tag and a sha512 digest together.
const REFERENCE_MAX: usize = 1024;

const DOCKER_HUB: &str = "docker.io";
/// Hosts that mean Docker Hub, normalized to [`DOCKER_HUB`].
const DOCKER_HUB_ALIASES: [&str; 2] = ["index.docker.io", "registry-1.docker.io"];

/// A parsed, normalized image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    registry: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// A content digest such as `sha256:<64 hex>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    hex: String,
}

/// The digest algorithms an image may be pinned with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha512,
}

/// Why a reference is not valid. Never a match, always a refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferenceError {
    Empty,
    TooLong { length: usize, max: usize },
    InvalidRegistry(String),
    InvalidPath(String),
    UppercasePath(String),
    HexadecimalName,
    InvalidTag(String),
    InvalidDigest(String),
    UnsupportedDigestAlgorithm(String),
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "empty image reference"),
            Self::TooLong { length, max } => {
                write!(
                    f,
                    "reference is {length} characters long, at most {max} allowed"
                )
            }
            Self::InvalidRegistry(r) => write!(f, "invalid registry host `{r}`"),
            Self::InvalidPath(p) => write!(f, "invalid repository path `{p}`"),
            Self::UppercasePath(p) => {
                write!(f, "repository path `{p}` must be lowercase")
            }
            Self::HexadecimalName => write!(
                f,
                "a 64-character hexadecimal string is an image ID, not a repository name"
            ),
            Self::InvalidTag(t) => write!(f, "invalid tag `{t}`"),
            Self::InvalidDigest(d) => write!(f, "invalid digest `{d}`"),
            Self::UnsupportedDigestAlgorithm(a) => {
                write!(
                    f,
                    "unsupported digest algorithm `{a}`, expected sha256 or sha512"
                )
            }
        }
    }
}

impl std::error::Error for ReferenceError {}

impl Reference {
    /// Parses and normalizes an image reference such as `nginx:1.27` or
    /// `ghcr.io/org/app@sha256:...`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if input.len() > REFERENCE_MAX {
            return Err(ReferenceError::TooLong {
                length: input.len(),
                max: REFERENCE_MAX,
            });
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) => (rest, Some(Digest::parse(digest)?)),
            None => (input, None),
        };
        // A tag's `:` comes after the last `/`; one before it belongs to a port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&rest[..at], Some(&rest[at + 1..]))
            }
            None => (rest, None),
        };
        if let Some(tag) = tag
            && !valid_tag(tag)
        {
            return Err(ReferenceError::InvalidTag(tag.to_owned()));
        }
        let (registry, path) = split_registry(name)?;
        validate_path(&path)?;
        let full = registry.len() + 1 + path.len();
        if full > NAME_MAX {
            return Err(ReferenceError::TooLong {
                length: full,
                max: NAME_MAX,
            });
        }
        Ok(Self {
            registry,
            path,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// Registry host, with its port if it has one.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// Repository path inside the registry, such as `library/nginx`.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What rules match against: registry and path, without tag or digest.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.registry, self.path)
    }

    /// The reference pinned to a digest (`repository@digest`), dropping any tag.
    pub fn with_digest(&self, digest: Digest) -> Self {
        Self {
            tag: None,
            digest: Some(digest),
            ..self.clone()
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl Digest {
    /// Parses `algorithm:hex`. Only sha256 and sha512 are accepted, in lowercase hex.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let invalid = || ReferenceError::InvalidDigest(input.to_owned());
        let (algorithm, hex) = input.split_once(':').ok_or_else(invalid)?;
        let (algorithm, length) = match algorithm {
            "sha256" => (DigestAlgorithm::Sha256, 64),
            "sha512" => (DigestAlgorithm::Sha512, 128),
            other if valid_digest_algorithm(other) => {
                return Err(ReferenceError::UnsupportedDigestAlgorithm(other.to_owned()));
            }
            _ => return Err(invalid()),
        };
        let lower_hex = hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex.len() != length || !lower_hex {
            return Err(invalid());
        }
        Ok(Self {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The digest value in lowercase hex.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithm = match self.algorithm {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        };
        write!(f, "{algorithm}:{}", self.hex)
    }
}

/// Splits a name into registry and path, applying Docker Hub's defaults.
fn split_registry(name: &str) -> Result<(String, String), ReferenceError> {
    let (registry, path) = match name.split_once('/') {
        // The first component is a registry only if it looks like a host.
        Some((first, rest)) if looks_like_host(first) => (first, rest),
        _ => (DOCKER_HUB, name),
    };
    if registry.is_empty() || !valid_registry(registry) {
        return Err(ReferenceError::InvalidRegistry(registry.to_owned()));
    }
    let registry = if DOCKER_HUB_ALIASES.contains(&registry) {
        DOCKER_HUB
    } else {
        registry
    };
    if registry == DOCKER_HUB && !path.is_empty() && !path.contains('/') {
        if is_hex64(path) {
            return Err(ReferenceError::HexadecimalName);
        }
        return Ok((registry.to_owned(), format!("library/{path}")));
    }
    Ok((registry.to_owned(), path.to_owned()))
}

/// Docker's rule: a first component with `.` or `:`, `localhost`, or any
/// uppercase letter is a registry host, not a path component.
fn looks_like_host(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// `host[:port]`, where host is a domain name, an IPv4 address or `[IPv6]`.
fn valid_registry(registry: &str) -> bool {
    let (host, port) = if let Some(inner) = registry.strip_prefix('[') {
        let Some((v6, after)) = inner.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("ipv6", Some(port)),
                None => return false,
            },
        }
    } else {
        match registry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    !host.is_empty() && host.split('.').all(valid_domain_component)
}

fn valid_domain_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

/// `component ('/' component)*`, each `[a-z0-9]+ (separator [a-z0-9]+)*`.
fn validate_path(path: &str) -> Result<(), ReferenceError> {
    if path.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(ReferenceError::UppercasePath(path.to_owned()));
    }
    if path.is_empty() || !path.split('/').all(valid_path_component) {
        return Err(ReferenceError::InvalidPath(path.to_owned()));
    }
    Ok(())
}

fn valid_path_component(component: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = component.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        // Separators: `.`, `_`, `__`, or a run of `-`.
        let sep_start = i;
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < bytes.len() && bytes[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < bytes.len() && bytes[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        debug_assert!(i > sep_start);
    }
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    match bytes.split_first() {
        Some((first, rest)) => {
            bytes.len() <= TAG_MAX
                && word(*first)
                && rest.iter().all(|b| word(*b) || *b == b'.' || *b == b'-')
        }
        None => false,
    }
}

/// `[A-Za-z][A-Za-z0-9]*` components joined by `+ . - _`.
fn valid_digest_algorithm(algorithm: &str) -> bool {
    algorithm.split(['+', '.', '-', '_']).all(|c| {
        let mut bytes = c.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && bytes.all(|b| b.is_ascii_alphanumeric())
    })
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(input: &str) -> String {
        match Reference::parse(input) {
            Ok(r) => r.repository(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn docker_hub_forms_normalize_to_library() {
        for input in [
            "nginx",
            "nginx:1.27",
            "docker.io/nginx",
            "index.docker.io/library/nginx:1.27",
            "registry-1.docker.io/library/nginx",
        ] {
            assert_eq!(repo(input), "docker.io/library/nginx", "{input}");
        }
    }

    #[test]
    fn ports_are_kept_and_tags_dropped() {
        assert_eq!(repo("localhost:5000/app:v1"), "localhost:5000/app");
        assert_eq!(repo("[::1]:5000/app"), "[::1]:5000/app");
        assert_eq!(repo("127.0.0.1:5000/a/b/c:1"), "127.0.0.1:5000/a/b/c");
    }

    #[test]
    fn tag_and_digest_are_both_kept_on_the_reference() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse(&format!("ghcr.io/x/y:v1@{digest}")).ok();
        let r = r.as_ref();
        assert_eq!(r.and_then(Reference::tag), Some("v1"));
        assert_eq!(
            r.and_then(|r| r.digest()).map(|d| d.to_string()),
            Some(digest)
        );
    }

    #[test]
    fn invalid_references_are_errors() {
        for input in [
            "",
            "Ghcr.io/UPPER/app",
            "nginx@sha256:abc",
            "nginx@sha256:",
            "nginx:",
            "ghcr.io//app",
            "ghcr.io/app/",
            "-bad.io/app",
            "localhost:99999999/app",
            &"a".repeat(300),
        ] {
            assert!(
                Reference::parse(input).is_err(),
                "{input:?} should be invalid"
            );
        }
    }

    #[test]
    fn uppercase_digest_hex_is_refused() {
        let upper = format!("nginx@sha256:{}", "A".repeat(64));
        assert!(matches!(
            Reference::parse(&upper),
            Err(ReferenceError::InvalidDigest(_))
        ));
    }

    #[test]
    fn unknown_digest_algorithm_is_named() {
        let r = Reference::parse("nginx@md5:0123456789abcdef0123456789abcdef");
        assert_eq!(
            r,
            Err(ReferenceError::UnsupportedDigestAlgorithm("md5".into()))
        );
    }
}
