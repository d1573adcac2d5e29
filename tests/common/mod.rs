//! What the tests that write the book's measured tables share: keeping such a file current.

use std::path::Path;

/// Writes `book/src/generated/{name}` under `UPDATE_BOOK=1`, otherwise asserts it holds `content`.
pub fn book_file_is_current(name: &str, content: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/generated").join(name);
    if std::env::var_os("UPDATE_BOOK").is_some() {
        std::fs::write(&path, content).expect("writable");
    } else {
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        // The test binary including this module is the one that rewrites the file.
        assert!(current == content, "stale book file {name}: run `UPDATE_BOOK=1 cargo test --test {}`", env!("CARGO_CRATE_NAME"));
    }
}
