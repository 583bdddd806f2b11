//! poem-openapi writes one `paths` entry per path *per API struct*, so two structs serving
//! different methods of one path (uploads and removals both use `/{distro}/{repo}`) produce a
//! document with a duplicate key, which YAML readers resolve by dropping all but the last.
//! This wrapper merges the operations of equal paths into one entry, in first-seen order, and
//! has each operation declare only the error statuses it can return ([`super::statuses`]).

use std::collections::HashMap;

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem_openapi::OpenApi;
use poem_openapi::registry::{MetaApi, MetaPath, Registry};

pub struct MergedPaths<T>(pub T);

impl<T: OpenApi> OpenApi for MergedPaths<T> {
    fn meta() -> Vec<MetaApi> {
        let mut paths = merge(T::meta());
        super::statuses::prune(&mut paths);
        vec![MetaApi { paths }]
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn add_routes(self, route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {
        self.0.add_routes(route_table);
    }
}

fn merge(apis: Vec<MetaApi>) -> Vec<MetaPath> {
    let mut merged: Vec<MetaPath> = Vec::new();
    for path in apis.into_iter().flat_map(|api| api.paths) {
        match merged.iter_mut().find(|p| p.path == path.path) {
            Some(existing) => existing.operations.extend(path.operations),
            None => merged.push(path),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_path_appears_once_in_the_document() {
        let spec = crate::openapi_service().spec_yaml();
        let mut paths: Vec<&str> = spec
            .lines()
            .filter(|l| l.starts_with("  /") && l.ends_with(':'))
            .collect();
        let all = paths.len();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), all, "duplicate path keys in:\n{spec}");
        assert!(spec.contains("  /{distro}/{repo}:\n"));
        let repo_path = spec.split("  /{distro}/{repo}:\n").nth(1).unwrap();
        let section: String = repo_path
            .lines()
            .take_while(|l| !l.starts_with("  /"))
            .collect::<Vec<_>>()
            .join("\n");
        for method in ["    post:", "    put:", "    delete:"] {
            assert!(
                section.contains(method),
                "{method} missing from /{{distro}}/{{repo}}"
            );
        }
    }
}
