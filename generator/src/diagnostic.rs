//! Errors a user can act on: where (file:line:column and the key path), what is
//! wrong, and what to do.
//!
//! Configuration problems are values, not early returns: every stage collects
//! all of its diagnostics and hands them back together, so a user fixes a file
//! in one pass instead of one error per run (the habit of vector's
//! `config/compiler.rs`). Rendering is separate from collecting so that tests
//! can assert on the compact one-line form while a terminal gets a snippet.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One source file, kept in memory so diagnostics can quote the offending line.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(SourceFile {
            path: path.into(),
            text: text.into(),
        })
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: usize) -> Option<&str> {
        self.text.lines().nth(line.checked_sub(1)?)
    }
}

/// A position in a source file: 1-based line and column (columns count characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub file: Arc<SourceFile>,
    pub line: usize,
    pub col: usize,
}

impl Location {
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.path.display(), self.line, self.col)
    }
}

/// A problem in a user's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the problem is; `None` only when the input has no position at all
    /// (a file that cannot be read, a directory with no environments).
    pub location: Option<Location>,
    /// The key path inside the document, e.g. `functions.ingest.memory_mb`; empty
    /// for problems about the document as a whole.
    pub key_path: String,
    /// What is wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(location: Option<Location>, key_path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            location,
            key_path: key_path.into(),
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col: key.path: message` — the stable form tests assert on.
    pub fn one_line(&self) -> String {
        let mut out = String::new();
        if let Some(loc) = &self.location {
            out.push_str(&format!("{loc}: "));
        }
        if !self.key_path.is_empty() {
            out.push_str(&format!("{}: ", self.key_path));
        }
        out.push_str(&self.message);
        out
    }

    /// A rustc-style report with the source line and a caret under the column.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        if let Some(loc) = &self.location {
            out.push_str(&format!("  --> {loc}\n"));
            if let Some(text) = loc.file.line(loc.line) {
                let gutter = loc.line.to_string().len();
                let shown: String = text.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
                out.push_str(&format!("{:gutter$} |\n", ""));
                out.push_str(&format!("{} | {}\n", loc.line, shown));
                out.push_str(&format!(
                    "{:gutter$} | {:pad$}^\n",
                    "",
                    "",
                    pad = loc.col.saturating_sub(1)
                ));
            }
        }
        if !self.key_path.is_empty() {
            out.push_str(&format!("  = key: {}\n", self.key_path));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

/// Diagnostics collected by one stage, sorted by file and position so reports
/// read top to bottom.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Sorted, with exact duplicates removed (the same parent file is merged into
    /// several children, so its problems would otherwise repeat).
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.location
                    .as_ref()
                    .map(|l| (l.file.path.clone(), l.line, l.col))
                    .unwrap_or_default()
            };
            key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
        });
        self.0.dedup();
        self
    }

    /// One line per diagnostic.
    pub fn one_line(&self) -> Vec<String> {
        self.0.iter().map(Diagnostic::one_line).collect()
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(v: Vec<Diagnostic>) -> Self {
        Diagnostics(v)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{}", d.one_line())?;
        }
        Ok(())
    }
}

/// "did you mean" for a misspelt name: the closest candidate, if it is close.
///
/// Close means a small edit distance (transpositions count once, so `dve`
/// finds `dev`) or a high Jaro-Winkler similarity (which favours a shared
/// start, so `timeout` finds `timeout_seconds`).
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let allowed = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter_map(|c| {
            let distance = strsim::damerau_levenshtein(word, c);
            let similarity = strsim::jaro_winkler(word, c);
            (distance <= allowed || similarity >= 0.85).then_some((distance, -similarity, c))
        })
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(_, _, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["memory_mb", "timeout_seconds", "trigger"];
        assert_eq!(did_you_mean("memory_mib", keys), Some("memory_mb"));
        assert_eq!(did_you_mean("timeout", keys), Some("timeout_seconds"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(did_you_mean("dve", ["dev", "base"]), Some("dev"));
        assert_eq!(did_you_mean("rees47", ["flashcommerce", "rees46"]), Some("rees46"));
    }

    #[test]
    fn renders_caret_under_column() {
        let file = SourceFile::new("env.yaml", "a: 1\nbad: 2\n");
        let d = Diagnostic::new(Some(Location { file, line: 2, col: 6 }), "bad", "wrong").with_help("fix it");
        let text = d.render();
        assert!(text.contains("  --> env.yaml:2:6\n"), "{text}");
        assert!(text.contains("2 | bad: 2\n  |      ^\n"), "{text}");
        assert!(text.contains("= help: fix it"), "{text}");
        assert_eq!(d.one_line(), "env.yaml:2:6: bad: wrong");
    }
}
