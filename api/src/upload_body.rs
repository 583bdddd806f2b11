//! The body of an upload: the package file as the raw body, or `multipart/form-data` with a
//! `package` part (the file) and an optional `signature` part (its detached signature). Both
//! are described in the OpenAPI document; neither is read here, so the package streams into
//! storage as it arrives whichever way it comes.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use poem::{Body, Request, RequestBody};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchema, MetaSchemaRef};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use rieter::signing::MAX_SIGNATURE_BYTES;

use crate::error::ApiError;

/// How an upload's body arrived.
pub enum UploadBody {
    /// The package file itself (any content type but multipart).
    Raw(Body),
    /// A form with the package and perhaps its signature.
    Form { body: Body, boundary: String },
}

const FORM: &str = "multipart/form-data";
const PACKAGE_PART: &str = "package";
const SIGNATURE_PART: &str = "signature";

fn binary() -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(MetaSchema {
        format: Some("binary"),
        ..MetaSchema::new("string")
    }))
}

impl<'a> ApiExtractor<'a> for UploadBody {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn request_meta() -> Option<MetaRequest> {
        let form = MetaSchema {
            properties: vec![(PACKAGE_PART, binary()), (SIGNATURE_PART, binary())],
            required: vec![PACKAGE_PART],
            description: Some(
                "`package`: the package file. `signature`: its detached OpenPGP signature \
                 (binary, version 4, at most 16384 bytes), as `gpg --detach-sign` writes it.",
            ),
            ..MetaSchema::new("object")
        };
        Some(MetaRequest {
            description: Some(
                "The package file as the raw body, or a form with the file and its signature.",
            ),
            content: vec![
                MetaMediaType {
                    content_type: "application/octet-stream",
                    schema: binary(),
                },
                MetaMediaType {
                    content_type: FORM,
                    schema: MetaSchemaRef::Inline(Box::new(form)),
                },
            ],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let body = body.take()?;
        let form = request.content_type().filter(|ct| {
            ct.get(..FORM.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(FORM))
        });
        match form {
            Some(content_type) => {
                let boundary = multer::parse_boundary(content_type).map_err(|e| {
                    ApiError::bad_request(format!("the multipart content type is invalid: {e}"))
                })?;
                Ok(Self::Form { body, boundary })
            }
            None => Ok(Self::Raw(body)),
        }
    }
}

/// A form part's bytes as they arrive.
pub type PartStream = Box<dyn Stream<Item = io::Result<Bytes>> + Send + Unpin>;

/// The parts of a form upload, read in the order they come: the package part is handed to
/// `receive` as a stream (so it is stored while it arrives), the signature part is read into
/// memory (it is at most 16 KiB).
pub async fn read_form<T, F, Fut>(
    body: Body,
    boundary: String,
    stall: Duration,
    receive: F,
) -> Result<(T, Option<Vec<u8>>), ApiError>
where
    F: FnOnce(PartStream) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut form = multer::Multipart::new(body.into_bytes_stream(), boundary);
    let mut receive = Some(receive);
    let mut package = None;
    let mut signature = None;
    loop {
        let field = match tokio::time::timeout(stall, form.next_field()).await {
            Err(_) => return Err(stalled(stall)),
            Ok(field) => field.map_err(form_error)?,
        };
        let Some(field) = field else { break };
        match field.name() {
            Some(PACKAGE_PART) => {
                let Some(receive) = receive.take() else {
                    return Err(ApiError::bad_request(
                        "the form has more than one `package` part",
                    ));
                };
                let stream = field.map_err(|e| io::Error::other(e.to_string()));
                package = Some(receive(Box::new(stream)).await?);
            }
            Some(SIGNATURE_PART) => {
                if signature.is_some() {
                    return Err(ApiError::bad_request(
                        "the form has more than one `signature` part",
                    ));
                }
                signature = Some(read_signature(field, stall).await?);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected form part {}: send `package` (the package file) and optionally \
                     `signature` (its detached signature)",
                    other.map_or_else(|| "without a name".to_owned(), |n| format!("`{n}`"))
                )));
            }
        }
    }
    let package = package.ok_or_else(|| {
        ApiError::bad_request("the form has no `package` part (the package file)")
    })?;
    Ok((package, signature))
}

/// Reads a signature part, refusing it as soon as it is longer than pacman accepts.
async fn read_signature(
    mut field: multer::Field<'_>,
    stall: Duration,
) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    loop {
        let chunk = match tokio::time::timeout(stall, field.chunk()).await {
            Err(_) => return Err(stalled(stall)),
            Ok(chunk) => chunk.map_err(form_error)?,
        };
        let Some(chunk) = chunk else { break };
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_SIGNATURE_BYTES {
            return Err(ApiError::bad_request(format!(
                "the signature is larger than {MAX_SIGNATURE_BYTES} bytes, the most pacman accepts"
            )));
        }
    }
    Ok(bytes)
}

fn form_error(err: multer::Error) -> ApiError {
    ApiError::bad_request(format!("the form could not be read: {err}"))
}

fn stalled(stall: Duration) -> ApiError {
    ApiError::bad_request(format!(
        "the upload sent nothing for {} seconds",
        stall.as_secs()
    ))
}
