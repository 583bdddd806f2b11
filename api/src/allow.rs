//! The `Allow` header of 405 answers (RFC 9110, section 15.5.6 requires it), worked out from
//! the operations the OpenAPI document declares, since poem's router answers 405 without one.

use std::sync::OnceLock;

use poem_openapi::OpenApi;

#[derive(Debug, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param,
}

struct Route {
    segments: Vec<Segment>,
    methods: Vec<String>,
}

/// The methods allowed on `path`, as an `Allow` value, or `None` when no route matches it.
pub fn allowed(path: &str) -> Option<String> {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    let routes = ROUTES.get_or_init(routes);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    routes
        .iter()
        .filter(|r| matches(&r.segments, &parts))
        // The router prefers a literal segment to a parameter at the first place they differ.
        .max_by(|a, b| specificity(&a.segments).cmp(&specificity(&b.segments)))
        .map(|r| r.methods.join(", "))
}

fn routes() -> Vec<Route> {
    let mut routes: Vec<Route> = Vec::new();
    let declared = crate::routes::Api::meta()
        .into_iter()
        .flat_map(|api| api.paths)
        .map(|p| {
            let methods = p.operations.iter().map(|o| o.method.to_string()).collect();
            (p.path, methods)
        });
    let served = std::iter::once(("/api/v1/openapi.yaml".to_owned(), vec!["GET".to_owned()]));
    for (path, mut methods) in declared.chain(served) {
        // poem answers HEAD wherever it answers GET.
        if methods.iter().any(|m| m == "GET") && !methods.iter().any(|m| m == "HEAD") {
            methods.push("HEAD".to_owned());
        }
        let segments = path
            .trim_start_matches('/')
            .split('/')
            .map(|s| {
                if s.starts_with(':') || s.starts_with('{') {
                    Segment::Param
                } else {
                    Segment::Static(s.to_owned())
                }
            })
            .collect();
        routes.push(Route { segments, methods });
    }
    routes
}

fn matches(segments: &[Segment], parts: &[&str]) -> bool {
    segments.len() == parts.len()
        && segments.iter().zip(parts).all(|(s, p)| match s {
            Segment::Static(text) => text == p,
            Segment::Param => !p.is_empty(),
        })
}

fn specificity(segments: &[Segment]) -> Vec<bool> {
    segments
        .iter()
        .map(|s| matches!(s, Segment::Static(_)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn lists_the_methods_of_the_route_a_path_takes() {
        assert_eq!(allowed("/api/v1/keys").as_deref(), Some("POST, GET, HEAD"));
        assert_eq!(
            allowed("/api/v1/keys/0193").as_deref(),
            Some("GET, DELETE, HEAD")
        );
        assert_eq!(
            allowed("/arch/extra/x86_64/extra.db").as_deref(),
            Some("GET, HEAD, DELETE")
        );
        assert_eq!(allowed("/arch/extra").as_deref(), Some("POST, PUT, DELETE"));
        assert_eq!(allowed("/api/v1/health").as_deref(), Some("GET, HEAD"));
        assert_eq!(allowed("/a/b/c/d/e"), None);
    }
}
