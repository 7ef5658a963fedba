//! Reading a vault's files as an insider with the disk would: the rows of
//! one column, and whether any file of the folder (database, WAL) still
//! holds some bytes.

#![allow(dead_code)]

/// The first column of every row `sql` selects, as bytes.
pub fn blobs(dir: &std::path::Path, sql: &str) -> Vec<Vec<u8>> {
    let conn = rusqlite::Connection::open(dir.join(tacet_vault::DB_FILE)).unwrap();
    let mut st = conn.prepare(sql).unwrap();
    st.query_map([], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Whether any file of the vault folder holds `needle`.
pub fn in_any_file(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let p = e.unwrap().path();
        p.is_file()
            && std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
    })
}
