//! One error type for the library, split by who is to blame, with
//! payloads a program can act on: a bad file names the rule of
//! spec/FORMAT.md it breaks ([`Rule`], with its section), an exceeded limit
//! names the limit and the value ([`Limit`]), a bad request says what was
//! wrong with it ([`Misuse`]).

use std::fmt;
use std::path::PathBuf;

use crate::signal::Kind;

/// Every failure the library reports. `Display` gives one line for a user.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing failed.
    Io {
        /// The file concerned, when there is one (not for readers).
        path: Option<PathBuf>,
        source: std::io::Error,
    },
    /// A `.scone` file breaks FORMAT.md: the file is to blame.
    Format(FormatError),
    /// A value in a file or a request exceeds a limit: FORMAT.md §9's
    /// implementation limits, [`crate::Limits`], or the limits of the
    /// encoder's inputs and of output formats.
    LimitsExceeded(LimitError),
    /// The caller asked for something impossible or for the wrong kind of
    /// signal: the request is to blame.
    Parameter(ParameterError),
    /// An input signal (image, clip, mesh, volume) could not be read.
    Input(String),
    /// Training failed.
    Train(String),
    /// The requested compute device is missing or failed.
    Device(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: Some(path.as_ref().to_path_buf()),
            source,
        }
    }

    /// A file that breaks `rule`; `detail` says how, in a few words.
    pub fn format(rule: Rule, detail: impl Into<String>) -> Self {
        Error::Format(FormatError {
            rule,
            detail: detail.into(),
            path: None,
        })
    }

    /// `what` is `value`, above the `max` that `limit` allows.
    pub fn limit(limit: Limit, what: impl Into<String>, value: u64, max: u64) -> Self {
        Error::LimitsExceeded(LimitError {
            limit,
            what: what.into(),
            value,
            max,
        })
    }

    /// A request that is invalid in the way `misuse` says.
    pub fn misuse(misuse: Misuse, detail: impl Into<String>) -> Self {
        Error::Parameter(ParameterError {
            misuse,
            detail: detail.into(),
        })
    }

    /// An invalid request with no more specific [`Misuse`].
    pub fn parameter(detail: impl Into<String>) -> Self {
        Self::misuse(Misuse::Invalid, detail)
    }

    /// A request for one kind of signal made of a file holding another.
    pub fn wrong_kind(expected: Kind, found: Kind, detail: impl Into<String>) -> Self {
        Self::misuse(Misuse::WrongKind { expected, found }, detail)
    }

    /// The FORMAT.md section of the rule a bad file breaks (`"§4.2"`),
    /// or `"§9"` for a file beyond an implementation limit on what a file
    /// may hold; `None` for other errors.
    pub fn section(&self) -> Option<&'static str> {
        match self {
            Error::Format(e) => Some(e.rule.section()),
            Error::LimitsExceeded(e) if e.limit.is_file_limit() => Some("§9"),
            _ => None,
        }
    }

    /// The same error, naming the file it concerns when the error is about
    /// a file's contents and names none yet.
    pub(crate) fn in_file(self, path: &std::path::Path) -> Self {
        match self {
            Error::Format(mut e) if e.path.is_none() => {
                e.path = Some(path.to_path_buf());
                Error::Format(e)
            }
            Error::LimitsExceeded(mut e) if e.limit.is_file_limit() => {
                e.what = format!("{}: {}", path.display(), e.what);
                Error::LimitsExceeded(e)
            }
            other => other,
        }
    }
}

/// A rule of FORMAT.md that a file breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// §2: the file does not start with the magic bytes (or is empty).
    Magic,
    /// §2: the file ends inside its 12-byte header.
    TruncatedHeader,
    /// §2: a version this decoder does not implement.
    Version,
    /// §2: the reserved header field is not 0.
    Reserved,
    /// §3.3: a chunk type byte outside `A`–`Z`, `a`–`z`.
    ChunkType,
    /// §3.3: a chunk (its header, payload or CRC) extends past the end of
    /// the file.
    ChunkPastEnd,
    /// §3.3: a chunk's CRC does not match its type and payload.
    Crc,
    /// §3.3: a critical chunk this decoder does not know.
    UnknownCritical,
    /// §3.3: `SGNL`, `ARCH`, `WGHT` or `DONE` missing, repeated or out of
    /// place, or a chunk before `SGNL`.
    ChunkOrder,
    /// §3.3: bytes after `DONE`.
    TrailingData,
    /// §3.3: a payload whose fields do not fill it exactly.
    PayloadLength,
    /// §4.2: an unknown signal `kind`.
    SignalKind,
    /// §4.2: an unknown `layout`, or one the kind does not allow.
    Layout,
    /// §4.2: a `bit_depth` the kind does not allow.
    BitDepth,
    /// §4.2: an unknown sampling `convention`.
    Convention,
    /// §4.2: an `axes` count the kind does not have.
    Axes,
    /// §4.2: a grid size outside 1 … 2²⁰.
    Size,
    /// §4.2: `value_lo` and `value_hi` not finite or equal.
    ValueRange,
    /// §4.2: a zero frame-rate numerator or denominator.
    FrameRate,
    /// §4.2: an SDF domain whose centre is not finite or whose half extent
    /// is not finite and positive.
    Domain,
    /// §4.2: an `SGNL` payload that does not hold exactly its kind's fields
    /// (a frame rate only for a video, a domain only for an SDF).
    SignalFields,
    /// §5.1: an unknown architecture name.
    ArchName,
    /// §5.1: `in_dims` or `out_dims` out of range or not matching `SGNL`.
    ArchDims,
    /// §5.1: more than 64 hyperparameters.
    HyperCount,
    /// §5.1: a hyperparameter key missing, repeated, unknown or malformed.
    HyperKey,
    /// §5.1: a hyperparameter of an unknown or the wrong type, or an array
    /// longer than 32.
    HyperType,
    /// §5.1: a hyperparameter value outside its valid values (§5.1–§5.7).
    HyperValue,
    /// §6.1: a tensor rank outside 1 … 4 or a name that is not a `str8` of
    /// at most 64 bytes.
    TensorEntry,
    /// §6.1: an unknown `compression`.
    Compression,
    /// §6.1: `raw_size` differs from the sum of the table's stored sizes.
    RawSize,
    /// §6.1: `packed` is not exactly the zstd frames that decompress to
    /// `raw_size` bytes.
    Packed,
    /// §6.2: the tensor count, a name or dims not what the architecture
    /// needs.
    TensorTable,
    /// §6.2: a decoded value that is not finite.
    NonFinite,
    /// §6.3: an unknown weight encoding.
    Encoding,
    /// §6.4: a coded tensor whose step, model or length is out of range,
    /// or whose words do not decode to exactly its values.
    Coded,
    /// §6.5: a `LATN` chunk whose grid count, residual classes or length
    /// is out of range, or whose words do not decode to exactly its
    /// latents within range.
    Latents,
    /// §7: a `meta` payload that is not UTF-8.
    Meta,
    /// §8: a `DONE` chunk with a payload.
    Done,
}

impl Rule {
    /// The section of FORMAT.md that states the rule, e.g. `"§4.2"`.
    pub fn section(self) -> &'static str {
        use Rule::*;
        match self {
            Magic | TruncatedHeader | Version | Reserved => "§2",
            ChunkType | ChunkPastEnd | Crc | UnknownCritical | ChunkOrder | TrailingData
            | PayloadLength => "§3.3",
            SignalKind | Layout | BitDepth | Convention | Axes | Size | ValueRange | FrameRate
            | Domain | SignalFields => "§4.2",
            ArchName | ArchDims | HyperCount | HyperKey | HyperType | HyperValue => "§5.1",
            TensorEntry | Compression | RawSize | Packed => "§6.1",
            TensorTable | NonFinite => "§6.2",
            Encoding => "§6.3",
            Coded => "§6.4",
            Latents => "§6.5",
            Meta => "§7",
            Done => "§8",
        }
    }
}

/// What is wrong with a `.scone` file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FormatError {
    /// The rule broken: the first one the decoder finds.
    pub rule: Rule,
    /// How, in a few words.
    pub detail: String,
    /// The file, when it was read from a path.
    pub path: Option<PathBuf>,
}

/// A limit something exceeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_file_bytes`](crate::Limits::max_file_bytes).
    FileBytes,
    /// [`Limits::max_chunk_bytes`](crate::Limits::max_chunk_bytes).
    ChunkBytes,
    /// [`Limits::max_weight_values`](crate::Limits::max_weight_values).
    WeightValues,
    /// [`Limits::max_meta_bytes`](crate::Limits::max_meta_bytes).
    MetaBytes,
    /// [`Limits::max_pixels`](crate::Limits::max_pixels).
    Pixels,
    /// [`Limits::max_side`](crate::Limits::max_side).
    Side,
    /// [`Limits::max_frames`](crate::Limits::max_frames).
    Frames,
    /// [`Limits::max_resolution`](crate::Limits::max_resolution).
    Resolution,
    /// [`Limits::max_macs`](crate::Limits::max_macs): the compute budget.
    Macs,
    /// A limit on the encoder's inputs (FORMAT.md §9's table).
    Input,
    /// A limit of an output format (PLY's or STL's counts, `u32` indices).
    Output,
}

impl Limit {
    /// The name of the limit: the [`crate::Limits`] field, or `input` /
    /// `output`.
    pub fn name(self) -> &'static str {
        match self {
            Limit::FileBytes => "max_file_bytes",
            Limit::ChunkBytes => "max_chunk_bytes",
            Limit::WeightValues => "max_weight_values",
            Limit::MetaBytes => "max_meta_bytes",
            Limit::Pixels => "max_pixels",
            Limit::Side => "max_side",
            Limit::Frames => "max_frames",
            Limit::Resolution => "max_resolution",
            Limit::Macs => "max_macs",
            Limit::Input => "input",
            Limit::Output => "output",
        }
    }

    /// Whether this limits what a `.scone` file may hold (FORMAT.md §9),
    /// rather than what is asked of it.
    pub fn is_file_limit(self) -> bool {
        matches!(
            self,
            Limit::FileBytes | Limit::ChunkBytes | Limit::WeightValues | Limit::MetaBytes
        )
    }

    /// Whether this limits a decoding request, which a caller may raise
    /// (`scone decode --force`).
    pub fn is_request_limit(self) -> bool {
        matches!(
            self,
            Limit::Pixels | Limit::Side | Limit::Frames | Limit::Resolution | Limit::Macs
        )
    }
}

/// A limit exceeded: which, by what and by how much.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitError {
    pub limit: Limit,
    /// What exceeded it, in words (`"a 40000x30000 image"`).
    pub what: String,
    /// The value that exceeded it (saturated at `u64::MAX`).
    pub value: u64,
    /// The largest value allowed.
    pub max: u64,
}

/// How a request was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// The file holds another kind of signal than the request is for (a
    /// clip's frames asked of an SDF, an image asked of a clip).
    WrongKind { expected: Kind, found: Kind },
    /// An output size, resolution or count of zero, or too small.
    EmptySize,
    /// A caller's buffer of the wrong length.
    BufferLength { needed: usize, given: usize },
    /// A frame, time or row range outside the signal.
    OutOfRange,
    /// An evaluator for another network than the file's.
    WrongNetwork,
    /// Anything else: an invalid value, option or combination.
    Invalid,
}

/// What was wrong with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParameterError {
    pub misuse: Misuse,
    /// In words, for a user.
    pub detail: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{}: ", p.display())?;
        }
        write!(f, "{} (FORMAT.md {})", self.detail, self.rule.section())
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} exceeds {} = {}",
            self.what,
            self.value,
            self.limit.name(),
            self.max
        )
    }
}

impl fmt::Display for ParameterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                path: Some(path),
                source,
            } => write!(f, "{}: {source}", path.display()),
            Error::Io { path: None, source } => write!(f, "{source}"),
            Error::Format(e) => write!(f, "invalid .scone file: {e}"),
            Error::LimitsExceeded(e) => write!(f, "limit exceeded: {e}"),
            Error::Parameter(e) => write!(f, "{e}"),
            Error::Input(m) => write!(f, "{m}"),
            Error::Train(m) => write!(f, "training failed: {m}"),
            Error::Device(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_section_and_limit() {
        let e = Error::format(Rule::Convention, "convention 7");
        assert_eq!(e.section(), Some("§4.2"));
        assert_eq!(
            e.to_string(),
            "invalid .scone file: convention 7 (FORMAT.md §4.2)"
        );
        let e = e.in_file(std::path::Path::new("a.scone"));
        assert_eq!(
            e.to_string(),
            "invalid .scone file: a.scone: convention 7 (FORMAT.md §4.2)"
        );
        let e = Error::limit(Limit::Pixels, "a 4x4 image", 16, 8);
        assert_eq!(e.section(), None);
        assert_eq!(
            e.to_string(),
            "limit exceeded: a 4x4 image: 16 exceeds max_pixels = 8"
        );
        let e = Error::limit(Limit::ChunkBytes, "a chunk", 16, 8);
        assert_eq!(e.section(), Some("§9"));
    }
}
