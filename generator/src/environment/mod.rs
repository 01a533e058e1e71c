//! Environment files: loading, `extends`, and merging into one located document
//! per environment.
//!
//! An environment is a YAML file in the environments folder; its name is the
//! file name without `.yaml`. `extends: NAME` forks another environment of the
//! same folder. Merge rule: mappings merge deeply, scalars and lists replace the
//! parent's (a list of subscriptions is replaced whole, so a fork can remove
//! one). Chains may be of any depth; a cycle or a missing parent is an error at
//! the `extends` line. Two keys are not inherited: `extends` itself and
//! `protected` (a fork of a protected environment is a new, unprotected one).

pub mod schema_check;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, SourceFile, did_you_mean};
use yaml::{Node, Value};

/// Keys that belong to one file and are never inherited through `extends`.
pub const NOT_INHERITED: &[&str] = &["extends", "protected"];

/// One environment file, parsed but not merged.
#[derive(Debug, Clone)]
pub struct EnvironmentFile {
    pub name: String,
    pub path: PathBuf,
    pub file: Arc<SourceFile>,
    /// The parsed document, or the reason it could not be parsed.
    pub document: Result<Node, Diagnostic>,
}

impl EnvironmentFile {
    /// Reads and parses one file. Never fails: problems become the document's error.
    pub fn read(path: &Path) -> EnvironmentFile {
        let name = environment_name(path);
        let bytes = std::fs::read(path);
        let (file, document) = match bytes {
            Err(e) => {
                let file = SourceFile::new(path, "");
                let d = Diagnostic::new(None, "", format!("cannot read {}: {e}", path.display()));
                (file, Err(d))
            }
            Ok(bytes) => Self::from_bytes_inner(path, bytes),
        };
        EnvironmentFile {
            name,
            path: path.to_path_buf(),
            file,
            document,
        }
    }

    /// Parses in-memory contents as if read from `path` (tests, fuzzing, `fork`).
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> EnvironmentFile {
        let (file, document) = Self::from_bytes_inner(path, bytes);
        EnvironmentFile {
            name: environment_name(path),
            path: path.to_path_buf(),
            file,
            document,
        }
    }

    fn from_bytes_inner(path: &Path, bytes: Vec<u8>) -> (Arc<SourceFile>, Result<Node, Diagnostic>) {
        match String::from_utf8(bytes) {
            Err(e) => {
                let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let prefix = String::from_utf8_lossy(valid).into_owned();
                let line = prefix.matches('\n').count() + 1;
                let col = prefix.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
                let byte = e.as_bytes()[valid.len()];
                let file = SourceFile::new(path, prefix);
                let d = Diagnostic::new(
                    Some(Location {
                        file: file.clone(),
                        line,
                        col,
                    }),
                    "",
                    format!("the file is not UTF-8 text (byte 0x{byte:02x})"),
                )
                .with_help("save the file as UTF-8; environment files are plain text");
                (file, Err(d))
            }
            Ok(text) => {
                let file = SourceFile::new(path, text);
                let document = match yaml::parse(&file) {
                    Err(d) => Err(d),
                    Ok(None) => Err(Diagnostic::new(
                        Some(Location { file: file.clone(), line: 1, col: 1 }),
                        "",
                        "the file is empty",
                    )
                    .with_help("an environment needs at least `extends: base` and `tenant: <id>`; try `pipegen fork base NAME`")),
                    Ok(Some(node)) if !matches!(node.value, Value::Map(_)) => Err(Diagnostic::new(
                        Some(node.location.clone()),
                        "",
                        format!("the document is a {}; an environment file is a mapping of keys", node.type_name()),
                    )
                    .with_help("start with `extends: base` and `tenant: <id>` on their own lines")),
                    Ok(Some(node)) => Ok(node),
                };
                (file, document)
            }
        }
    }

    /// The `extends` value and its location, if the file has one.
    fn extends(&self) -> Result<Option<(String, Location)>, Diagnostic> {
        let Ok(doc) = &self.document else {
            return Ok(None);
        };
        match doc.get("extends") {
            None => Ok(None),
            Some(node) => match &node.value {
                Value::Scalar { text, .. } => Ok(Some((text.clone(), node.location.clone()))),
                _ => Err(Diagnostic::new(
                    Some(node.location.clone()),
                    "extends",
                    format!("`extends` names one environment; found a {}", node.type_name()),
                )
                .with_help("write `extends: base` (the file name without .yaml)")),
            },
        }
    }
}

/// The name of the environment a file holds: its file name without extension.
pub fn environment_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every environment file of a folder (`*.yaml`, `*.yml`), by name.
#[derive(Debug, Clone, Default)]
pub struct EnvironmentFiles {
    pub dir: PathBuf,
    pub files: BTreeMap<String, EnvironmentFile>,
}

impl EnvironmentFiles {
    pub fn read_dir(dir: &Path) -> Result<EnvironmentFiles, Diagnostic> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            Diagnostic::new(
                None,
                "",
                format!("cannot read the environments folder {}: {e}", dir.display()),
            )
            .with_help("run pipegen from the repository root, or pass --environments DIR")
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        paths.sort();
        let mut files = BTreeMap::new();
        for path in paths {
            let f = EnvironmentFile::read(&path);
            files.insert(f.name.clone(), f);
        }
        Ok(EnvironmentFiles {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// Builds from in-memory files (tests, benchmarks).
    pub fn from_files(dir: &Path, files: impl IntoIterator<Item = EnvironmentFile>) -> EnvironmentFiles {
        EnvironmentFiles {
            dir: dir.to_path_buf(),
            files: files.into_iter().map(|f| (f.name.clone(), f)).collect(),
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The `extends` chain of an environment, itself first, root last.
    pub fn chain(&self, name: &str) -> Result<Vec<&EnvironmentFile>, Diagnostics> {
        let mut chain: Vec<&EnvironmentFile> = Vec::new();
        let mut current = match self.files.get(name) {
            Some(f) => f,
            None => {
                let mut d = Diagnostic::new(
                    None,
                    "",
                    format!("no environment named `{name}` in {}", self.dir.display()),
                );
                if let Some(s) = did_you_mean(name, self.names()) {
                    d = d.with_help(format!("did you mean `{s}`?"));
                } else {
                    d = d.with_help("`pipegen envs` lists the environments");
                }
                return Err(vec![d].into());
            }
        };
        loop {
            if let Err(d) = &current.document {
                return Err(vec![d.clone()].into());
            }
            chain.push(current);
            let (parent, location) = match current.extends() {
                Err(d) => return Err(vec![d].into()),
                Ok(None) => return Ok(chain),
                Ok(Some(p)) => p,
            };
            if chain.iter().any(|f| f.name == parent) {
                let mut cycle: Vec<&str> = chain.iter().map(|f| f.name.as_str()).collect();
                cycle.push(&parent);
                return Err(vec![
                    Diagnostic::new(
                        Some(location),
                        "extends",
                        format!("`extends` makes a cycle: {}", cycle.join(" -> ")),
                    )
                    .with_help("one environment of the cycle must extend nothing (usually base)"),
                ]
                .into());
            }
            current = match self.files.get(&parent) {
                Some(f) => f,
                None => {
                    let help = match did_you_mean(&parent, self.names()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("environments here: {}", self.names().collect::<Vec<_>>().join(", ")),
                    };
                    return Err(vec![
                        Diagnostic::new(
                            Some(location),
                            "extends",
                            format!("`extends: {parent}` names no environment in {}", self.dir.display()),
                        )
                        .with_help(help),
                    ]
                    .into());
                }
            };
        }
    }

    /// The merged document of an environment: its chain folded root first.
    pub fn merged(&self, name: &str) -> Result<MergedDocument, Diagnostics> {
        let chain = self.chain(name)?;
        let mut layers = chain.iter().rev();
        let root = layers.next().expect("a chain has at least the environment itself");
        let mut document = root.document.clone().expect("chain() checked every document parsed");
        if chain.len() > 1 {
            for key in NOT_INHERITED {
                document.remove(key);
            }
        }
        for (i, layer) in layers.enumerate() {
            let mut overlay = layer.document.clone().expect("chain() checked every document parsed");
            let is_leaf = i + 2 == chain.len();
            if !is_leaf {
                for key in NOT_INHERITED {
                    overlay.remove(key);
                }
            }
            document = merge(document, overlay);
        }
        Ok(MergedDocument {
            name: name.to_string(),
            path: chain[0].path.clone(),
            chain: chain.iter().map(|f| f.name.clone()).collect(),
            document,
        })
    }
}

/// An environment's document after `extends` has been merged.
#[derive(Debug, Clone)]
pub struct MergedDocument {
    pub name: String,
    pub path: PathBuf,
    /// The environment and its ancestors, itself first.
    pub chain: Vec<String>,
    pub document: Node,
}

/// Deep merge: mappings merge key by key (parent order kept, new keys appended);
/// anything else in `overlay` replaces `base`.
pub fn merge(base: Node, overlay: Node) -> Node {
    match (base.value, overlay.value) {
        (Value::Map(mut entries), Value::Map(over)) => {
            for (key, value) in over {
                match entries.iter().position(|(k, _)| k.name == key.name) {
                    Some(i) => {
                        let (_, old) = entries.remove(i);
                        entries.insert(i, (key, merge(old, value)));
                    }
                    None => entries.push((key, value)),
                }
            }
            Node {
                value: Value::Map(entries),
                location: overlay.location,
            }
        }
        (_, value) => Node {
            value,
            location: overlay.location,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> EnvironmentFiles {
        EnvironmentFiles::from_files(
            Path::new("envs"),
            list.iter().map(|(n, t)| {
                EnvironmentFile::from_bytes(&PathBuf::from(format!("envs/{n}.yaml")), t.as_bytes().to_vec())
            }),
        )
    }

    fn scalar<'a>(node: &'a Node, path: &[&str]) -> Option<&'a str> {
        let mut n = node;
        for p in path {
            n = n.get(p)?;
        }
        n.as_str()
    }

    #[test]
    fn maps_merge_deeply_scalars_and_lists_replace() {
        let set = files(&[
            (
                "base",
                "tenant: base\nprotected: true\na: {x: 1, y: 2}\nlist: [1, 2, 3]\n",
            ),
            ("mid", "extends: base\ntenant: mid\na: {y: 20, z: 30}\n"),
            ("leaf", "extends: mid\ntenant: leaf\nlist: [9]\n"),
        ]);
        let merged = set.merged("leaf").unwrap();
        let doc = &merged.document;
        assert_eq!(merged.chain, ["leaf", "mid", "base"]);
        assert_eq!(scalar(doc, &["tenant"]), Some("leaf"));
        assert_eq!(scalar(doc, &["a", "x"]), Some("1"));
        assert_eq!(scalar(doc, &["a", "y"]), Some("20"));
        assert_eq!(scalar(doc, &["a", "z"]), Some("30"));
        match &doc.get("list").unwrap().value {
            Value::Seq(items) => assert_eq!(items.len(), 1),
            other => panic!("{other:?}"),
        }
        // Not inherited: protected, and the parent's extends.
        assert!(doc.get("protected").is_none());
        assert_eq!(scalar(doc, &["extends"]), Some("mid"));
        // Locations follow the file that wrote the value.
        assert_eq!(
            doc.get("a").unwrap().get("x").unwrap().location.path(),
            Path::new("envs/base.yaml")
        );
        assert_eq!(
            doc.get("a").unwrap().get("y").unwrap().location.path(),
            Path::new("envs/mid.yaml")
        );
    }

    #[test]
    fn cycle_is_an_error_at_extends() {
        let set = files(&[("a", "extends: b\n"), ("b", "extends: c\n"), ("c", "extends: a\n")]);
        let err = set.merged("a").unwrap_err();
        assert_eq!(
            err.one_line(),
            ["envs/c.yaml:1:10: extends: `extends` makes a cycle: a -> b -> c -> a"]
        );
    }

    #[test]
    fn missing_parent_suggests_a_name() {
        let set = files(&[("base", "tenant: x\n"), ("dev", "extends: bsae\n")]);
        let err = set.merged("dev").unwrap_err();
        assert_eq!(
            err.0[0].one_line(),
            "envs/dev.yaml:1:10: extends: `extends: bsae` names no environment in envs"
        );
        assert_eq!(err.0[0].help.as_deref(), Some("did you mean `base`?"));
    }

    #[test]
    fn a_broken_parent_breaks_its_children() {
        let set = files(&[("base", "a: [\n"), ("dev", "extends: base\n")]);
        let err = set.merged("dev").unwrap_err();
        assert!(err.0[0].one_line().starts_with("envs/base.yaml:"), "{err}");
    }
}
