//! Response bodies of the JSON API.

mod upload;

pub use upload::{UploadStatusView, UploadView, UploadedPackage};
