//! The rpm package database of RHEL 9, UBI 9, Fedora 33+, Amazon Linux 2023
//! and derivatives: `rpmdb.sqlite` (`var/lib/rpm/` or
//! `usr/lib/sysimage/rpm/`), read from memory with SQLite.
//!
//! Each row of its `Packages` table (`hnum INTEGER PRIMARY KEY, blob BLOB`)
//! is one package header in rpm's exported form, without the magic and
//! reserved bytes that header files on disk start with. All integers are
//! big-endian:
//!
//! ```text
//! u32 il                  number of index entries
//! u32 dl                  length of the data store
//! il × { i32 tag, u32 type, i32 offset, u32 count }
//! dl bytes of data        values at `offset` into this store
//! ```
//!
//! Types used here: INT32 = 4 (`count` big-endian u32s), STRING = 6 and
//! I18NSTRING = 9 (NUL-terminated), STRING_ARRAY = 8 (`count`
//! NUL-terminated strings). Tags: NAME 1000, VERSION 1001, RELEASE 1002,
//! EPOCH 1003, ARCH 1022, SOURCERPM 1044. A header usually opens with a
//! region tag (63, `HEADERIMMUTABLE`, type BIN) that is skipped like any
//! other tag. Format reference:
//! <https://rpm-software-management.github.io/rpm/manual/format_header.html>.
//!
//! No maintained crate parses rpm headers from a database blob without
//! pulling a full rpm toolchain (`rpm` the crate reads package files, not
//! rpmdb rows), hence the ~100 lines below. The BerkeleyDB `Packages` of
//! RHEL 7/8 and SUSE's `Packages.db` (ndb) are not read: the package
//! analyzer says so in the report notes.

use rusqlite::{Connection, OpenFlags, MAIN_DB};

/// Tags read from a header.
const TAG_NAME: i32 = 1000;
const TAG_VERSION: i32 = 1001;
const TAG_RELEASE: i32 = 1002;
const TAG_EPOCH: i32 = 1003;
const TAG_ARCH: i32 = 1022;
const TAG_SOURCERPM: i32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's own bounds on a header (`hdrchk`): index entries and data bytes.
const MAX_INDEX: u32 = 0xffff;
const MAX_DATA: u32 = 256 << 20;

/// What failed while reading an rpm database.
#[derive(Debug, thiserror::Error)]
pub enum RpmError {
    /// A header blob is malformed.
    #[error("rpm header: {0}")]
    Header(&'static str),
    /// SQLite could not open or query the database.
    #[error("rpmdb.sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database has no `Packages` table.
    #[error("rpmdb.sqlite has no Packages table")]
    NoPackagesTable,
}

/// The fields of one package header that palisade reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: String,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `EPOCH`, when set.
    pub epoch: Option<u32>,
    /// `ARCH` (`x86_64`, `noarch`).
    pub arch: Option<String>,
    /// `SOURCERPM` (`glibc-2.34-100.el9.src.rpm`).
    pub source_rpm: Option<String>,
}

impl RpmHeader {
    /// `[epoch:]version-release`, as rpm -q --qf '%{EVR}' prints it.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// Name and `version-release` of the source rpm
    /// (`glibc-2.34-100.el9.src.rpm` → `glibc`, `2.34-100.el9`).
    pub fn source(&self) -> Option<(String, String)> {
        let s = self.source_rpm.as_deref()?;
        let s = s
            .strip_suffix(".src.rpm")
            .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
        let mut parts = s.rsplitn(3, '-');
        let release = parts.next()?;
        let version = parts.next()?;
        let name = parts.next()?;
        (!name.is_empty()).then(|| (name.to_string(), format!("{version}-{release}")))
    }
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parses one exported header blob (see the module documentation).
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, RpmError> {
    let il = be_u32(blob, 0).ok_or(RpmError::Header("shorter than 8 bytes"))?;
    let dl = be_u32(blob, 4).ok_or(RpmError::Header("shorter than 8 bytes"))?;
    if il == 0 || il > MAX_INDEX {
        return Err(RpmError::Header("index entry count out of range"));
    }
    if dl > MAX_DATA {
        return Err(RpmError::Header("data store too large"));
    }
    let data_start = 8 + il as usize * 16;
    let data = blob
        .get(data_start..data_start + dl as usize)
        .ok_or(RpmError::Header(
            "index or data store past the end of the blob",
        ))?;
    let mut h = RpmHeader::default();
    for i in 0..il as usize {
        let at = 8 + i * 16;
        let (Some(tag), Some(ty), Some(off), Some(count)) = (
            be_u32(blob, at),
            be_u32(blob, at + 4),
            be_u32(blob, at + 8),
            be_u32(blob, at + 12),
        ) else {
            return Err(RpmError::Header("truncated index entry"));
        };
        let tag = tag as i32;
        let off = off as usize;
        if !matches!(
            tag,
            TAG_NAME | TAG_VERSION | TAG_RELEASE | TAG_EPOCH | TAG_ARCH | TAG_SOURCERPM
        ) {
            continue;
        }
        if off >= data.len() {
            return Err(RpmError::Header("value offset past the data store"));
        }
        if tag == TAG_EPOCH {
            if ty != TYPE_INT32 || count == 0 {
                return Err(RpmError::Header("EPOCH is not an INT32"));
            }
            h.epoch = Some(be_u32(data, off).ok_or(RpmError::Header("EPOCH past the data store"))?);
            continue;
        }
        if !matches!(ty, TYPE_STRING | TYPE_I18NSTRING | TYPE_STRING_ARRAY) {
            return Err(RpmError::Header("string tag with a non-string type"));
        }
        let rest = &data[off..];
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(RpmError::Header("unterminated string"))?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        match tag {
            TAG_NAME => h.name = s,
            TAG_VERSION => h.version = s,
            TAG_RELEASE => h.release = s,
            TAG_ARCH => h.arch = Some(s),
            _ => h.source_rpm = Some(s),
        }
    }
    if h.name.is_empty() || h.version.is_empty() {
        return Err(RpmError::Header("no NAME or VERSION"));
    }
    Ok(h)
}

/// The package headers of an `rpmdb.sqlite` held in memory, in `hnum`
/// order; the `gpg-pubkey` pseudo-packages (imported signing keys) are
/// left out. A malformed row fails the whole database, so that a report
/// never lists part of the packages as if they were all.
pub fn read_sqlite(bytes: &[u8]) -> Result<Vec<RpmHeader>, RpmError> {
    let mut db = bytes.to_vec();
    // rpm keeps the database in WAL mode (file format bytes 18 and 19 are
    // 2); SQLite's in-memory database cannot open a WAL database, and an
    // image holds no -wal file to replay anyway, so read it as a
    // rollback-journal one.
    if db.starts_with(b"SQLite format 3\0") && db.len() >= 100 {
        for b in &mut db[18..20] {
            if *b == 2 {
                *b = 1;
            }
        }
    }
    let mut conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // The file comes from an untrusted image: no schema-defined side effects.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA,
        false,
    )?;
    conn.deserialize_read_exact(MAIN_DB, db.as_slice(), db.len(), true)?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'Packages'",
        [],
        |r| r.get(0),
    )?;
    if tables == 0 {
        return Err(RpmError::NoPackagesTable);
    }
    let mut stmt = conn.prepare("SELECT blob FROM Packages ORDER BY hnum")?;
    let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for blob in rows {
        let h = parse_header(&blob?)?;
        if h.name != "gpg-pubkey" {
            out.push(h);
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds an exported header blob: a region tag first (as rpm writes
    /// it), then the given entries, with strings NUL-terminated and the
    /// INT32 aligned to 4 bytes.
    pub fn header(
        name: &str,
        version: &str,
        release: &str,
        epoch: Option<u32>,
        arch: &str,
        source_rpm: Option<&str>,
    ) -> Vec<u8> {
        let mut index: Vec<(i32, u32, u32, u32)> = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        // Region trailer placeholder: 16 bytes of BIN data.
        index.push((63, 7, 0, 16));
        data.extend_from_slice(&[0u8; 16]);
        let string =
            |index: &mut Vec<(i32, u32, u32, u32)>, data: &mut Vec<u8>, tag: i32, s: &str| {
                index.push((tag, TYPE_STRING, data.len() as u32, 1));
                data.extend_from_slice(s.as_bytes());
                data.push(0);
            };
        string(&mut index, &mut data, TAG_NAME, name);
        string(&mut index, &mut data, TAG_VERSION, version);
        string(&mut index, &mut data, TAG_RELEASE, release);
        if let Some(e) = epoch {
            while !data.len().is_multiple_of(4) {
                data.push(0);
            }
            index.push((TAG_EPOCH, TYPE_INT32, data.len() as u32, 1));
            data.extend_from_slice(&e.to_be_bytes());
        }
        string(&mut index, &mut data, TAG_ARCH, arch);
        if let Some(s) = source_rpm {
            string(&mut index, &mut data, TAG_SOURCERPM, s);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(index.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for (tag, ty, off, count) in index {
            blob.extend_from_slice(&tag.to_be_bytes());
            blob.extend_from_slice(&ty.to_be_bytes());
            blob.extend_from_slice(&off.to_be_bytes());
            blob.extend_from_slice(&count.to_be_bytes());
        }
        blob.extend_from_slice(&data);
        blob
    }

    /// An rpmdb.sqlite file as rpm writes it (WAL mode, rpm's schema), as bytes.
    pub fn rpmdb(headers: &[Vec<u8>]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rpmdb.sqlite");
        {
            let conn = Connection::open(&path).expect("create db");
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .expect("wal");
            assert_eq!(mode, "wal");
            conn.execute_batch(
                "CREATE TABLE 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
                 CREATE TABLE 'Name' (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, UNIQUE(key, hnum, idx));",
            )
            .expect("schema");
            for h in headers {
                conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [h])
                    .expect("insert");
            }
        }
        std::fs::read(&path).expect("read db")
    }

    #[test]
    fn header_fields_epoch_and_source_are_read() {
        let blob = header(
            "bash",
            "5.1.8",
            "9.el9",
            Some(2),
            "x86_64",
            Some("bash-5.1.8-9.el9.src.rpm"),
        );
        let h = parse_header(&blob).expect("parses");
        assert_eq!(h.name, "bash");
        assert_eq!(h.evr(), "2:5.1.8-9.el9");
        assert_eq!(h.arch.as_deref(), Some("x86_64"));
        assert_eq!(h.source(), Some(("bash".into(), "5.1.8-9.el9".into())));
        let h = parse_header(&header(
            "python3-libs",
            "3.9.18",
            "3.el9",
            None,
            "x86_64",
            Some("python3.9-3.9.18-3.el9.src.rpm"),
        ))
        .expect("parses");
        assert_eq!(h.evr(), "3.9.18-3.el9");
        assert_eq!(
            h.source(),
            Some(("python3.9".into(), "3.9.18-3.el9".into()))
        );
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        let good = header("a", "1", "1", Some(1), "noarch", None);
        assert!(parse_header(&[]).is_err());
        assert!(parse_header(&[0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        for cut in 0..good.len() {
            let _ = parse_header(&good[..cut]);
        }
        let mut huge = good.clone();
        huge[0..4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        assert!(parse_header(&huge).is_err());
        // Every byte flipped: never a panic.
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0xff;
            let _ = parse_header(&b);
        }
    }

    #[test]
    fn rpmdb_sqlite_in_wal_mode_is_read_from_memory() {
        let db = rpmdb(&[
            header("gpg-pubkey", "fd431d51", "4ae0493b", None, "", None),
            header(
                "glibc",
                "2.34",
                "100.el9_4.2",
                None,
                "x86_64",
                Some("glibc-2.34-100.el9_4.2.src.rpm"),
            ),
            header(
                "openssl-libs",
                "3.0.7",
                "27.el9",
                Some(1),
                "x86_64",
                Some("openssl-3.0.7-27.el9.src.rpm"),
            ),
        ]);
        assert_eq!(db[18], 2, "the test database is in WAL mode");
        let hs = read_sqlite(&db).expect("reads");
        let names: Vec<&str> = hs.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["glibc", "openssl-libs"]);
        assert_eq!(hs[1].evr(), "1:3.0.7-27.el9");
    }

    #[test]
    fn not_an_rpmdb_is_an_error() {
        assert!(read_sqlite(b"not a database").is_err());
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.sqlite");
        Connection::open(&path)
            .and_then(|c| c.execute_batch("CREATE TABLE t (x)"))
            .expect("db");
        let bytes = std::fs::read(&path).expect("read");
        assert!(matches!(
            read_sqlite(&bytes),
            Err(RpmError::NoPackagesTable)
        ));
    }
}
