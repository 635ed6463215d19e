//! An OCI image layout directory, for air-gapped use: `index.json`, and
//! content under `blobs/<algorithm>/<hex>`. Tags are the
//! `org.opencontainers.image.ref.name` annotations of `index.json`: a bare
//! tag, as `skopeo copy ... oci:DIR:TAG` writes it, or a whole
//! `registry/repository:tag`, so one layout can hold several repositories.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use super::{
    Descriptor, FetchError, IMAGE_INDEX, Manifest, Reference, Store, check_digest, limits,
    sha256_digest, within,
};

/// The annotation that names a tag in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// `index.json` itself may list many images; it is still bounded.
const INDEX_BYTES: u64 = 16 * 1024 * 1024;

/// An OCI image layout on disk.
#[derive(Debug)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// Opens an existing layout.
    pub fn open(dir: &Path) -> Result<Self, FetchError> {
        let layout = Self {
            dir: dir.to_path_buf(),
        };
        if !dir.join("oci-layout").is_file() {
            return Err(FetchError::Invalid {
                what: format!("OCI layout {}", dir.display()),
                reason: "no oci-layout file: not an OCI image layout".to_owned(),
            });
        }
        Ok(layout)
    }

    /// Opens a layout, creating an empty one if `dir` has none.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(dir.join("blobs").join("sha256"))?;
        if !dir.join("oci-layout").is_file() {
            fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        if !dir.join("index.json").is_file() {
            let index = Manifest {
                schema_version: 2,
                media_type: IMAGE_INDEX.to_owned(),
                ..Manifest::default()
            };
            fs::write(dir.join("index.json"), serde_json::to_vec_pretty(&index)?)?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn index(&self) -> Result<Manifest, FetchError> {
        let bytes = read_capped(&self.dir.join("index.json"), INDEX_BYTES, "index.json")?;
        serde_json::from_slice(&bytes).map_err(|e| FetchError::Invalid {
            what: "index.json".to_owned(),
            reason: e.to_string(),
        })
    }

    /// The descriptor tagged `tag` for `image`'s repository.
    fn tagged(&self, image: &Reference, tag: &str) -> Result<Descriptor, FetchError> {
        let full = format!("{}/{}:{tag}", image.registry(), image.repository());
        let index = self.index()?;
        let named = |name: &str| {
            index
                .manifests
                .iter()
                .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some(name))
                .cloned()
        };
        named(&full)
            .or_else(|| named(tag))
            .ok_or_else(|| FetchError::NotFound(format!("tag {full} in the OCI layout")))
    }

    fn blob_path(&self, digest: &str) -> Result<PathBuf, FetchError> {
        let hex = digest.strip_prefix("sha256:").unwrap_or_default();
        // The digest names a file: only exact lowercase hex may reach the path.
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(FetchError::Invalid {
                what: format!("digest {digest}"),
                reason: "expected sha256:<64 lowercase hex digits>".to_owned(),
            });
        }
        Ok(self.dir.join("blobs").join("sha256").join(hex))
    }

    fn read_blob(&self, digest: &str, max: u64, what: &str) -> Result<Vec<u8>, FetchError> {
        let bytes = read_capped(&self.blob_path(digest)?, max, what)?;
        check_digest(what, &bytes, digest)?;
        Ok(bytes)
    }

    /// Writes a blob and returns its digest.
    pub fn put_blob(&self, bytes: &[u8]) -> Result<String, FetchError> {
        let digest = sha256_digest(bytes);
        let path = self.blob_path(&digest)?;
        fs::write(&path, bytes).map_err(|e| write_error(&path, e))?;
        Ok(digest)
    }

    /// Writes a manifest and, when `tag` is given, tags it in `index.json`
    /// under that name, replacing what the name tagged before.
    pub fn put_manifest(
        &self,
        bytes: &[u8],
        media_type: &str,
        tag: Option<&str>,
    ) -> Result<String, FetchError> {
        let digest = self.put_blob(bytes)?;
        if let Some(tag) = tag {
            let mut index = self.index()?;
            index
                .manifests
                .retain(|d| d.annotations.get(REF_NAME).map(String::as_str) != Some(tag));
            let mut descriptor = Descriptor {
                media_type: media_type.to_owned(),
                digest: digest.clone(),
                size: bytes.len() as u64,
                ..Descriptor::default()
            };
            descriptor
                .annotations
                .insert(REF_NAME.to_owned(), tag.to_owned());
            index.manifests.push(descriptor);
            let path = self.dir.join("index.json");
            let json = serde_json::to_vec_pretty(&index).map_err(|e| FetchError::Invalid {
                what: "index.json".to_owned(),
                reason: e.to_string(),
            })?;
            fs::write(&path, json).map_err(|e| write_error(&path, e))?;
        }
        Ok(digest)
    }
}

fn write_error(path: &Path, e: std::io::Error) -> FetchError {
    FetchError::Unavailable {
        what: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Reads at most `max` bytes of `path`; a larger file is refused before
/// it is read whole.
fn read_capped(path: &Path, max: u64, what: &str) -> Result<Vec<u8>, FetchError> {
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FetchError::NotFound(format!("{what} in the OCI layout")));
        }
        Err(e) => {
            return Err(FetchError::Unavailable {
                what: what.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FetchError::Unavailable {
            what: what.to_owned(),
            reason: e.to_string(),
        })?;
    if bytes.len() as u64 > max {
        let size = fs::metadata(path).map_or(bytes.len() as u64, |m| m.len());
        return Err(FetchError::TooLarge {
            what: what.to_owned(),
            size,
            max,
        });
    }
    Ok(bytes)
}

impl Store for Layout {
    /// The tags `index.json` names for `repository` in full
    /// (`registry/repository:tag`), and its bare tags, which name no
    /// repository and so belong to any.
    fn tags(&mut self, repository: &Reference) -> Result<Vec<String>, FetchError> {
        let prefix = format!("{}/{}:", repository.registry(), repository.repository());
        let mut tags: Vec<String> = self
            .index()?
            .manifests
            .iter()
            .filter_map(|d| d.annotations.get(REF_NAME))
            .filter_map(|name| match name.strip_prefix(&prefix) {
                Some(tag) => Some(tag.to_owned()),
                None => (!name.contains(['/', ':', '@'])).then(|| name.clone()),
            })
            .collect();
        tags.sort();
        tags.dedup();
        if tags.len() > limits::TAGS {
            return Err(FetchError::TooMany {
                what: format!("tags of {}", prefix.trim_end_matches(':')),
                count: tags.len(),
                max: limits::TAGS,
            });
        }
        Ok(tags)
    }

    /// A digest names itself: the image manifest need not be in the layout
    /// (a mirror of the signatures alone verifies, as in a registry). A tag
    /// names the digest `index.json` gives it.
    fn resolve(&mut self, image: &Reference) -> Result<String, FetchError> {
        match (image.digest(), image.tag()) {
            (Some(digest), _) => {
                self.blob_path(digest)?;
                Ok(digest.to_owned())
            }
            (None, Some(tag)) => Ok(self.tagged(image, tag)?.digest),
            (None, None) => Err(FetchError::Invalid {
                what: image.whole(),
                reason: "neither a tag nor a digest".to_owned(),
            }),
        }
    }

    fn manifest(&mut self, image: &Reference) -> Result<(Vec<u8>, String), FetchError> {
        let digest = match (image.digest(), image.tag()) {
            (Some(digest), _) => digest.to_owned(),
            (None, Some(tag)) => {
                let descriptor = self.tagged(image, tag)?;
                let what = format!("manifest {}", descriptor.digest);
                within(&what, descriptor.size, limits::MANIFEST_BYTES)?;
                descriptor.digest
            }
            (None, None) => {
                return Err(FetchError::Invalid {
                    what: image.whole(),
                    reason: "neither a tag nor a digest".to_owned(),
                });
            }
        };
        let what = format!("manifest {digest}");
        let bytes = self.read_blob(&digest, limits::MANIFEST_BYTES, &what)?;
        Ok((bytes, digest))
    }

    fn blob(
        &mut self,
        _repository: &Reference,
        descriptor: &Descriptor,
        max: u64,
    ) -> Result<Vec<u8>, FetchError> {
        let what = format!("blob {}", descriptor.digest);
        within(&what, descriptor.size, max)?;
        self.read_blob(&descriptor.digest, max, &what)
    }

    fn referrers(&mut self, _subject: &Reference) -> Result<Option<Vec<Descriptor>>, FetchError> {
        // A layout has no referrers API: the referrers tag schema serves.
        Ok(None)
    }
}
