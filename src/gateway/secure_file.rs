//! Private files on disk: atomic writes with owner-only permissions, and a
//! permission-checked read of a versioned JSON document. Used by the device
//! identity and the token store.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically: a fresh temp file in the same folder,
/// created with mode 0600 on unix, flushed to disk, then renamed over `path`.
/// A missing parent folder is created (mode 0700 on unix).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    create_private_dir(&dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:08x}",
        name.to_string_lossy(),
        std::process::id(),
        fastrand::u32(..)
    ));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename durable; failure here does not undo the write.
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// On unix, the permission bits of `path` if group or others can access it
/// (so the caller can refuse the file, like ssh does). `None` when private,
/// and always `None` on other platforms.
pub(crate) fn insecure_mode(meta: &fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Some(mode);
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    None
}

/// Why [`read_private_json`] refused a file.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The file could not be read (missing, no permission, ...).
    Io(io::Error),
    /// The file is not private, not a JSON object, or of another version.
    Invalid(String),
}

/// Reads the private JSON file `path`, written in format `version`: a file
/// other users can access is refused (like ssh does), and the document must
/// be a JSON object whose `"version"` is `version`.
pub(crate) fn read_private_json(
    path: &Path,
    version: u64,
) -> Result<serde_json::Map<String, serde_json::Value>, ReadError> {
    let meta = fs::metadata(path).map_err(ReadError::Io)?;
    if let Some(mode) = insecure_mode(&meta) {
        return Err(ReadError::Invalid(format!(
            "it is accessible by other users (mode {mode:o}); run `chmod 600 {}`",
            path.display()
        )));
    }
    let text = fs::read_to_string(path).map_err(ReadError::Io)?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ReadError::Invalid(format!("not valid JSON ({e})")))?;
    let serde_json::Value::Object(obj) = doc else {
        return Err(ReadError::Invalid("not a JSON object".into()));
    };
    match obj.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == version => Ok(obj),
        Some(v) => Err(ReadError::Invalid(format!(
            "unsupported version {v} (this build reads version {version})"
        ))),
        None => Err(ReadError::Invalid("\"version\" is missing".into())),
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
pub(crate) mod test_dir {
    //! A throwaway folder for file tests (no tempfile crate available).
    use std::path::{Path, PathBuf};

    /// Removed (with its contents) on drop.
    pub(crate) struct TestDir(PathBuf);

    impl TestDir {
        pub(crate) fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "clawsock-gw-{tag}-{}-{:016x}",
                std::process::id(),
                fastrand::u64(..)
            ));
            std::fs::create_dir_all(&p).unwrap();
            TestDir(p)
        }
        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TestDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_dir::TestDir;
    use super::*;

    #[test]
    fn writes_atomically_with_private_mode() {
        let dir = TestDir::new("secure");
        let path = dir.path().join("sub/file.json");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(insecure_mode(&meta), None);
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn detects_group_readable_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TestDir::new("secure-mode");
        let path = dir.path().join("f");
        fs::write(&path, b"x").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(insecure_mode(&fs::metadata(&path).unwrap()), Some(0o644));
    }
}
