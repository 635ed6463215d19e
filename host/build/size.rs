//! What each part of a guest module's code costs, read from its `name`
//! section before that section and the debug sections are dropped.
//!
//! The guest is built with its function names kept (`strip = false` in the
//! `guest` profile) so that its code can be attributed; what is embedded is
//! the module without them, which is what `strip = true` would give.

use std::collections::{BTreeMap, HashMap};

use wasmparser::{KnownCustom, Name, Parser, Payload};

/// A module without its names and debug sections, and what its code cost.
pub struct Measured {
    pub module: Vec<u8>,
    /// `part<TAB>bytes` lines: `crate NAME` for each crate's function
    /// bodies, `module sigward_core::NAME` for each of the core's top
    /// modules, `data`, `other` (types, tables, exports, the component
    /// type) and `total` (the module as embedded).
    pub table: String,
}

pub fn strip_and_measure(module: &[u8]) -> Result<Measured, String> {
    let mut out = module.get(..8).ok_or("not a wasm module")?.to_vec();
    let mut imported_functions = 0u32;
    let mut bodies: Vec<usize> = Vec::new();
    let mut names: HashMap<u32, String> = HashMap::new();
    let mut data = 0usize;
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(|e| e.to_string())?;
        let mut keep = true;
        match &payload {
            Payload::ImportSection(imports) => {
                for import in imports.clone().into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    if matches!(import.ty, wasmparser::TypeRef::Func(_)) {
                        imported_functions += 1;
                    }
                }
            }
            Payload::CodeSectionEntry(body) => bodies.push(range_len(&body.range())),
            Payload::DataSection(section) => data += range_len(&section.range()),
            Payload::CustomSection(custom) => {
                keep = custom.name() != "name" && !custom.name().starts_with(".debug");
                if let KnownCustom::Name(reader) = custom.as_known() {
                    for subsection in reader {
                        if let Ok(Name::Function(map)) = subsection {
                            for naming in map.into_iter().flatten() {
                                names.insert(naming.index, naming.name.to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        if keep && let Some((id, range)) = payload.as_section() {
            let start = usize::try_from(range.start).map_err(|e| e.to_string())?;
            let end = usize::try_from(range.end).map_err(|e| e.to_string())?;
            let bytes = module.get(start..end).ok_or("a section past the end")?;
            out.push(id);
            leb128(&mut out, bytes.len());
            out.extend_from_slice(bytes);
        }
    }
    let mut crates: BTreeMap<String, usize> = BTreeMap::new();
    let mut core_modules: BTreeMap<String, usize> = BTreeMap::new();
    let mut code = 0usize;
    for (i, size) in bodies.iter().enumerate() {
        code += size;
        let index = imported_functions + u32::try_from(i).unwrap_or(u32::MAX);
        let name = names
            .get(&index)
            .map(|mangled| format!("{:#}", rustc_demangle::demangle(mangled)))
            .unwrap_or_default();
        let (krate, module) = owner(&name);
        *crates.entry(krate.to_owned()).or_default() += size;
        if krate == "sigward_core" {
            *core_modules.entry(module.to_owned()).or_default() += size;
        }
    }
    let mut table = String::new();
    for (krate, size) in &crates {
        table.push_str(&format!("crate {krate}\t{size}\n"));
    }
    for (module, size) in &core_modules {
        table.push_str(&format!("module sigward_core::{module}\t{size}\n"));
    }
    let other = out.len().saturating_sub(code + data);
    table.push_str(&format!(
        "data\t{data}\nother\t{other}\ntotal\t{}\n",
        out.len()
    ));
    Ok(Measured { module: out, table })
}

/// The crate (and its first module) a demangled function name belongs to:
/// the first path in it, so that `<sigward_core::bundle::Bundle as
/// serde::Deserialize>::deserialize` is the core's, and generic code counts
/// to the crate that defines it (`core::ptr::drop_in_place<…>` is `core`'s).
/// The component's exports (with all they inline) are the adapter's, and
/// `drop_in_place<T>` is `T`'s crate's.
fn owner(name: &str) -> (&str, &str) {
    if name.starts_with("cabi_") || name.contains("sigward:") {
        return ("sigward_component", "");
    }
    // Dropping a value is the code of the value's crate.
    if let Some(inner) = name.strip_prefix("core::ptr::drop_in_place<") {
        return owner(inner);
    }
    let mut path = name.trim_start_matches('<');
    for prefix in ["&mut ", "&", "*const ", "*mut ", "dyn "] {
        path = path.strip_prefix(prefix).unwrap_or(path);
    }
    let end = path.find([':', ' ', '<', '>', ',']).unwrap_or(path.len());
    let krate = &path[..end];
    const PRIMITIVES: &[&str] = &[
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64", "bool", "char", "str",
    ];
    if krate.is_empty() || PRIMITIVES.contains(&krate) {
        return ("core", "");
    }
    if !krate.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return ("(unnamed)", "");
    }
    let rest = path[end..].strip_prefix("::").unwrap_or_default();
    let module_end = rest.find([':', ' ', '<', '>', ',']).unwrap_or(rest.len());
    (krate, &rest[..module_end])
}

fn range_len(range: &std::ops::Range<u64>) -> usize {
    usize::try_from(range.end.saturating_sub(range.start)).unwrap_or(usize::MAX)
}

fn leb128(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
