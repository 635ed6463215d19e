//! The Kubewarden policy: a waPC module built from the core (build.rs) and
//! embedded here, so that `sigward component --kubewarden --write FILE`
//! hands it to `kwctl`. The host never runs it: Kubewarden does.

/// The waPC module, as built.
pub const MODULE: &[u8] = include_bytes!(env!("SIGWARD_KUBEWARDEN_MODULE_PATH"));

/// What the module imports and exports, and whether it stays within the
/// wasm 2.0 core spec (Kubewarden's wasmtime enables no proposal beyond it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description {
    pub bytes: usize,
    /// `module.name` of each import.
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    /// The error when the module needs more than wasm 2.0.
    pub beyond_core_spec: Option<String>,
}

/// Reads `module`'s imports and exports and validates it against wasm 2.0.
pub fn describe(module: &[u8]) -> Result<Description, String> {
    use wasmparser::{Parser, Payload, Validator, WasmFeatures};
    let mut imports = Vec::new();
    let mut exports = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        match payload.map_err(|e| format!("the Kubewarden module does not parse: {e}"))? {
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    imports.push(format!("{}.{}", import.module, import.name));
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    exports.push(export.map_err(|e| e.to_string())?.name.to_owned());
                }
            }
            _ => {}
        }
    }
    let beyond_core_spec = Validator::new_with_features(WasmFeatures::WASM2)
        .validate_all(module)
        .err()
        .map(|e| e.to_string());
    Ok(Description {
        bytes: module.len(),
        imports,
        exports,
        beyond_core_spec,
    })
}
