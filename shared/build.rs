//! `sqlx::migrate!` embeds `../migrations` when this crate compiles; on stable Rust cargo does
//! not know that, so a new migration file would not be picked up without this.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
