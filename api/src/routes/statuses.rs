//! Which error statuses each operation can return. Every operation returns the one error type
//! [`ApiError`](crate::error::ApiError), whose derived description lists all its statuses; the
//! document keeps, for each operation, only those listed here, so that generated clients get
//! the errors an operation really has. Statuses outside `ApiError` (an operation's own
//! successes, `304`, `416`, `422`) are never touched.
//!
//! Read off the handlers: `400` where a parameter or body can be refused (poem-openapi refuses
//! malformed ones too), `401` wherever a key is read (a public read refuses an invalid key),
//! `403` where a permission is checked, `404` for a named resource, `409` where a mirror's
//! repository or an existing key is in the way, `413`/`415`/`507` for request bodies and
//! uploads, `500` and `503` wherever the database or storage is used. schemathesis, run by the
//! test suite against the committed document, fails on a status an operation returns but does
//! not declare.

use poem_openapi::registry::MetaPath;

/// Every status the error type can produce.
const ERROR_STATUSES: [u16; 10] = [400, 401, 403, 404, 409, 413, 415, 500, 503, 507];

/// `(operation id, its error statuses)`.
const OPERATIONS: &[(&str, &[u16])] = &[
    ("health", &[]),
    ("ready", &[500, 503]),
    ("list_distros", &[400, 401, 500, 503]),
    ("get_distro", &[401, 404, 500, 503]),
    ("list_repos", &[400, 401, 404, 500, 503]),
    ("get_repo", &[401, 404, 500, 503]),
    ("list_packages", &[400, 401, 500, 503]),
    ("get_package", &[400, 401, 404, 500, 503]),
    ("list_package_files", &[400, 401, 404, 500, 503]),
    ("upload_package", UPLOAD),
    ("upload_package_put", UPLOAD),
    ("get_upload", &[400, 401, 404, 500, 503]),
    ("list_uploads", &[400, 401, 500, 503]),
    ("create_key", &[400, 401, 403, 415, 500, 503]),
    ("list_keys", &[400, 401, 403, 500, 503]),
    ("get_key", &[400, 401, 403, 404, 500, 503]),
    ("delete_key", &[400, 401, 403, 404, 500, 503]),
    ("get_repo_file", &[401, 404, 500, 503]),
    ("head_repo_file", &[401, 404, 500, 503]),
    ("remove_package", &[401, 403, 404, 409, 500, 503]),
    ("remove_arch", &[401, 403, 404, 409, 500, 503]),
    ("remove_repo", &[401, 403, 404, 500, 503]),
    ("remove_distro", &[401, 403, 404, 500, 503]),
    (
        "create_signing_key",
        &[400, 401, 403, 404, 409, 415, 500, 503],
    ),
    ("get_signing_key", &[401, 404, 500, 503]),
    ("delete_signing_key", &[400, 401, 403, 404, 500, 503]),
    (
        "set_packager_keys",
        &[400, 401, 403, 404, 409, 413, 415, 500, 503],
    ),
    ("list_packager_keys", &[401, 404, 500, 503]),
    ("delete_packager_keys", &[400, 401, 403, 404, 500, 503]),
    ("set_repo_settings", &[400, 401, 403, 404, 415, 500, 503]),
    ("get_repo_settings", &[401, 404, 500, 503]),
    ("get_public_key", &[401, 404, 500, 503]),
    ("create_mirror", MIRROR_CHANGE),
    ("list_mirrors", &[400, 401, 403, 500, 503]),
    ("get_mirror", &[400, 401, 403, 404, 500, 503]),
    ("update_mirror", MIRROR_CHANGE),
    ("delete_mirror", &[400, 401, 403, 404, 500, 503]),
    ("sync_mirror", &[400, 401, 403, 404, 500, 503]),
    ("metrics", &[401, 403, 500, 503]),
    ("create_target", &[400, 401, 403, 409, 415, 500, 503]),
    ("list_targets", &[400, 401, 403, 500, 503]),
    ("get_target", &[400, 401, 404, 500, 503]),
    ("update_target", &[400, 401, 403, 404, 409, 415, 500, 503]),
    ("delete_target", &[400, 401, 404, 500, 503]),
    ("request_build", &[400, 401, 404, 415, 500, 503]),
    ("list_builds", &[400, 401, 403, 500, 503]),
    ("get_build", &[400, 401, 404, 500, 503]),
    ("cancel_build", &[400, 401, 404, 500, 503]),
    ("claim_build", &[400, 401, 403, 415, 500, 503]),
    ("extend_build", &[400, 401, 403, 409, 415, 500, 503]),
    ("finish_build", &[400, 401, 403, 404, 409, 415, 500, 503]),
    ("get_build_log", &[400, 401, 404, 500, 503]),
    (
        "append_build_log",
        &[400, 401, 403, 404, 409, 413, 415, 500, 503],
    ),
    ("report_build", &[400, 401, 403, 409, 415, 500, 503]),
    ("upload_build_package", UPLOAD),
];

const UPLOAD: &[u16] = &[400, 401, 403, 409, 413, 415, 500, 503, 507];
const MIRROR_CHANGE: &[u16] = &[400, 401, 403, 404, 409, 415, 500, 503];

/// The error statuses `operation_id` declares, if it is listed.
fn errors_of(operation_id: &str) -> Option<&'static [u16]> {
    OPERATIONS
        .iter()
        .find(|(id, _)| *id == operation_id)
        .map(|(_, statuses)| *statuses)
}

/// Drops from every operation the error statuses it cannot return.
///
/// # Panics
/// On an operation missing from the table: a new operation must say what it returns (the
/// document is built at startup and by the tests, so this cannot reach production unseen).
pub fn prune(paths: &mut [MetaPath]) {
    for operation in paths.iter_mut().flat_map(|p| p.operations.iter_mut()) {
        let id = operation.operation_id.unwrap_or("(unnamed)");
        let allowed = errors_of(id)
            .unwrap_or_else(|| panic!("operation {id} is missing from routes::statuses"));
        operation.responses.responses.retain(|response| {
            response
                .status
                .is_none_or(|s| !ERROR_STATUSES.contains(&s) || allowed.contains(&s))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_operation_once_and_only_real_ones() {
        let spec = crate::openapi_service().spec_yaml();
        let documented: Vec<&str> = spec
            .lines()
            .filter_map(|l| l.trim().strip_prefix("operationId: "))
            .collect();
        for (id, statuses) in OPERATIONS {
            assert!(documented.contains(id), "{id} is not an operation");
            assert_eq!(
                OPERATIONS.iter().filter(|(other, _)| other == id).count(),
                1,
                "{id} listed twice"
            );
            assert!(statuses.iter().all(|s| ERROR_STATUSES.contains(s)), "{id}");
        }
        assert_eq!(documented.len(), OPERATIONS.len());
    }

    #[test]
    fn operations_list_only_their_statuses() {
        let spec = crate::openapi_service().spec_yaml();
        let section = |path: &str| -> String {
            spec.split(&format!("\n  {path}:\n"))
                .nth(1)
                .unwrap_or_else(|| panic!("{path} missing"))
                .lines()
                .take_while(|l| !l.starts_with("  /"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let distros = section("/api/v1/distros");
        assert!(distros.contains("'400':") && distros.contains("'503':"));
        for absent in ["'403':", "'404':", "'409':", "'413':", "'415':", "'507':"] {
            assert!(!distros.contains(absent), "list_distros declares {absent}");
        }
        let upload = section("/{distro}/{repo}");
        for present in ["'201':", "'202':", "'409':", "'413':", "'422':", "'507':"] {
            assert!(upload.contains(present), "uploads lack {present}");
        }
        assert_eq!(spec.matches("'507':").count(), 3, "only the uploads");
    }
}
