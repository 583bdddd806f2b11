//! The text of the `desc` and `files` entries, byte for byte as `repo-add` 6.0.2 writes them
//! (`db_write_entry` and `format_entry` in `/usr/bin/repo-add`).

use super::DbEntry;

/// The `desc` file of one package.
pub fn render_desc(entry: &DbEntry<'_>) -> String {
    let mut out = String::with_capacity(1024);
    let mut field = |key: &str, values: &[&str]| format_entry(&mut out, key, values);
    let csize = entry.csize.to_string();
    let isize = entry.isize.to_string();
    let build_date = entry.build_date.to_string();

    field("FILENAME", &[entry.filename]);
    field("NAME", &[entry.name]);
    field("BASE", &[opt(entry.base)]);
    field("VERSION", &[entry.version]);
    field("DESC", &[opt(entry.description)]);
    field("GROUPS", &strs(entry.groups));
    field("CSIZE", &[&csize]);
    field("ISIZE", &[&isize]);
    field("MD5SUM", &[entry.md5]);
    field("SHA256SUM", &[entry.sha256]);
    field("PGPSIG", &[opt(entry.pgpsig)]);
    field("URL", &[opt(entry.url)]);
    field("LICENSE", &strs(entry.licenses));
    field("ARCH", &[entry.arch]);
    field("BUILDDATE", &[&build_date]);
    field("PACKAGER", &[opt(entry.packager)]);
    field("REPLACES", &strs(entry.replaces));
    field("CONFLICTS", &strs(entry.conflicts));
    field("PROVIDES", &strs(entry.provides));
    field("DEPENDS", &strs(entry.depends));
    field("OPTDEPENDS", &strs(entry.optdepends));
    field("MAKEDEPENDS", &strs(entry.makedepends));
    field("CHECKDEPENDS", &strs(entry.checkdepends));
    out
}

/// The `files` file of one package. `files` must already be in `repo-add`'s order
/// (`LC_ALL=C sort -u`), as [`crate::package::ParsedPackage::files`] is.
pub fn render_files(files: &[String]) -> String {
    let mut out = String::with_capacity(8 + files.iter().map(|f| f.len() + 1).sum::<usize>());
    out.push_str("%FILES%\n");
    for file in files {
        out.push_str(file);
        out.push('\n');
    }
    out
}

fn opt(value: Option<&str>) -> &str {
    value.unwrap_or("")
}

fn strs(values: &[String]) -> Vec<&str> {
    values.iter().map(String::as_str).collect()
}

/// `format_entry` tests only its first value (`[[ $1 ]]`): a list whose first value is empty
/// is left out entirely, while later empty values are still written as empty lines.
fn format_entry(out: &mut String, key: &str, values: &[&str]) {
    if values.first().is_none_or(|first| first.is_empty()) {
        return;
    }
    out.push('%');
    out.push_str(key);
    out.push_str("%\n");
    for value in values {
        out.push_str(value);
        out.push('\n');
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    fn minimal<'a>() -> DbEntry<'a> {
        DbEntry {
            filename: "min-1.0-1-any.pkg.tar.zst",
            name: "min",
            base: None,
            version: "1.0-1",
            description: None,
            groups: &[],
            csize: 0,
            isize: 0,
            md5: "d41d8cd98f00b204e9800998ecf8427e",
            sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            pgpsig: None,
            url: None,
            licenses: &[],
            arch: "any",
            build_date: 0,
            packager: None,
            replaces: &[],
            conflicts: &[],
            provides: &[],
            depends: &[],
            optdepends: &[],
            makedepends: &[],
            checkdepends: &[],
        }
    }

    #[test]
    fn omits_empty_fields_but_keeps_zero_numbers() {
        // repo-add's `[[ $1 ]]` is true for "0", so sizes and dates are always written.
        let expected = "%FILENAME%\nmin-1.0-1-any.pkg.tar.zst\n\n\
            %NAME%\nmin\n\n\
            %VERSION%\n1.0-1\n\n\
            %CSIZE%\n0\n\n\
            %ISIZE%\n0\n\n\
            %MD5SUM%\nd41d8cd98f00b204e9800998ecf8427e\n\n\
            %SHA256SUM%\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\n\
            %ARCH%\nany\n\n\
            %BUILDDATE%\n0\n\n";
        assert_eq!(render_desc(&minimal()), expected);

        let blank = DbEntry {
            base: Some(""),
            description: Some(""),
            pgpsig: Some(""),
            url: Some(""),
            packager: Some(""),
            ..minimal()
        };
        assert_eq!(render_desc(&blank), expected);
    }

    #[test]
    fn writes_every_field_in_repo_add_order() {
        let groups = owned(&["g1", "g2"]);
        let licenses = owned(&["MIT", "custom:Foo"]);
        let replaces = owned(&["old"]);
        let conflicts = owned(&["other<2"]);
        let provides = owned(&["virt=1.0"]);
        let depends = owned(&["glibc", "bash>=5"]);
        let optdepends = owned(&["python: for the scripts"]);
        let makedepends = owned(&["gcc"]);
        let checkdepends = owned(&["check"]);
        let entry = DbEntry {
            filename: "full-2:1.0-3-x86_64.pkg.tar.xz",
            name: "full",
            base: Some("fullbase"),
            version: "2:1.0-3",
            description: Some("A full package"),
            groups: &groups,
            csize: 1234,
            isize: 5678,
            pgpsig: Some("iQEzBAABCAAdFiEE"),
            url: Some("https://example.org"),
            licenses: &licenses,
            arch: "x86_64",
            build_date: 1_700_000_000,
            packager: Some("Jane <jane@example.org>"),
            replaces: &replaces,
            conflicts: &conflicts,
            provides: &provides,
            depends: &depends,
            optdepends: &optdepends,
            makedepends: &makedepends,
            checkdepends: &checkdepends,
            ..minimal()
        };
        let desc = render_desc(&entry);
        let keys: Vec<&str> = desc
            .lines()
            .filter(|l| l.starts_with('%') && l.ends_with('%'))
            .collect();
        assert_eq!(
            keys,
            [
                "%FILENAME%",
                "%NAME%",
                "%BASE%",
                "%VERSION%",
                "%DESC%",
                "%GROUPS%",
                "%CSIZE%",
                "%ISIZE%",
                "%MD5SUM%",
                "%SHA256SUM%",
                "%PGPSIG%",
                "%URL%",
                "%LICENSE%",
                "%ARCH%",
                "%BUILDDATE%",
                "%PACKAGER%",
                "%REPLACES%",
                "%CONFLICTS%",
                "%PROVIDES%",
                "%DEPENDS%",
                "%OPTDEPENDS%",
                "%MAKEDEPENDS%",
                "%CHECKDEPENDS%",
            ]
        );
        assert!(desc.contains("\n\n%GROUPS%\ng1\ng2\n\n%CSIZE%\n1234\n\n"));
        assert!(desc.contains("\n\n%LICENSE%\nMIT\ncustom:Foo\n\n%ARCH%\n"));
        assert!(desc.contains("\n\n%DEPENDS%\nglibc\nbash>=5\n\n%OPTDEPENDS%\n"));
        assert!(desc.contains("%OPTDEPENDS%\npython: for the scripts\n\n"));
        assert!(desc.ends_with("%CHECKDEPENDS%\ncheck\n\n"));
    }

    #[test]
    fn a_list_is_judged_by_its_first_value_only() {
        let hidden = owned(&["", "later"]);
        let kept = owned(&["first", ""]);
        let entry = DbEntry {
            groups: &hidden,
            depends: &kept,
            ..minimal()
        };
        let desc = render_desc(&entry);
        assert!(!desc.contains("%GROUPS%"), "{desc}");
        assert!(desc.ends_with("%DEPENDS%\nfirst\n\n\n"), "{desc:?}");
    }

    #[test]
    fn files_lists_one_path_per_line() {
        assert_eq!(render_files(&[]), "%FILES%\n");
        let files = owned(&["usr/", "usr/bin/", "usr/bin/a b"]);
        assert_eq!(
            render_files(&files),
            "%FILES%\nusr/\nusr/bin/\nusr/bin/a b\n"
        );
    }
}
