//! Package URLs (`pkg:type/namespace/name@version?qualifiers#subpath`), as
//! far as matching advisories needs: type, full name, version.

/// A package URL's parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purl {
    /// `npm`, `pypi`, `golang`, `cargo`, `deb`, ...
    pub kind: String,
    /// The namespace and name, `/`-joined and percent-decoded
    /// (`@babel/core`, `golang.org/x/net`).
    pub name: String,
    pub version: Option<String>,
    /// The `distro` qualifier of a `deb` purl (`debian-12`), if any.
    pub distro: Option<String>,
}

impl Purl {
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("pkg:")?;
        let rest = rest.split('#').next().unwrap_or(rest);
        let (rest, qualifiers) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (path, version) = match rest.rsplit_once('@') {
            // An `@` inside the path is a scope (`%40` when encoded properly).
            Some((p, v)) if !v.contains('/') => (p, Some(decode(v)?)),
            _ => (rest, None),
        };
        let (kind, name) = path.trim_matches('/').split_once('/')?;
        let name = name
            .split('/')
            .map(decode)
            .collect::<Option<Vec<_>>>()?
            .join("/");
        let distro = qualifiers.and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("distro="))
                .and_then(decode)
        });
        (!name.is_empty()).then(|| Self {
            kind: kind.to_ascii_lowercase(),
            name,
            version,
            distro,
        })
    }
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::Purl;

    #[test]
    fn purls_of_each_ecosystem() {
        let p = Purl::parse("pkg:npm/%40babel/core@7.0.0").unwrap_or_else(|| unreachable!());
        assert_eq!(
            (p.kind.as_str(), p.name.as_str(), p.version.as_deref()),
            ("npm", "@babel/core", Some("7.0.0"))
        );
        let p =
            Purl::parse("pkg:golang/golang.org/x/net@v0.17.0").unwrap_or_else(|| unreachable!());
        assert_eq!(
            (p.name.as_str(), p.version.as_deref()),
            ("golang.org/x/net", Some("v0.17.0"))
        );
        let p = Purl::parse("pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12")
            .unwrap_or_else(|| unreachable!());
        assert_eq!(
            (p.name.as_str(), p.version.as_deref(), p.distro.as_deref()),
            (
                "debian/openssl",
                Some("3.0.11-1~deb12u2"),
                Some("debian-12")
            )
        );
        assert_eq!(Purl::parse("npm/lodash@1"), None);
        assert_eq!(Purl::parse("pkg:npm/lodash@%zz"), None);
    }
}
