//! Writing outputs safely: never a partial file, never over the input.

use scone::Error;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Refuses an output path that names the input file.
pub fn check_not_input(input: &Path, output: &Path) -> Result<(), Error> {
    let same = match (input.canonicalize(), resolve(output)) {
        (Ok(a), Some(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::parameter(format!(
            "refusing to write the output over the input {}",
            input.display()
        )));
    }
    Ok(())
}

/// The canonical form of a path that may not exist yet.
fn resolve(path: &Path) -> Option<PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(path.file_name()?))
}

/// Writes `path` atomically: `write` fills a temporary file beside it,
/// which replaces `path` only once `write` has succeeded.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&mut std::fs::File>) -> Result<(), Error>,
) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if path.is_dir() {
        return Err(Error::parameter(format!(
            "{} is a directory",
            path.display()
        )));
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".scone-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    {
        let mut w = BufWriter::new(tmp.as_file_mut());
        write(&mut w)?;
        w.flush().map_err(|e| Error::io(path, e))?;
    }
    // Temporary files are private; an output is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(tmp.path(), perms).map_err(|e| Error::io(tmp.path(), e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
