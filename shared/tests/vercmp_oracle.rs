//! `rieter::version::vercmp` against the real `/usr/bin/vercmp` on generated pairs.

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

use rieter::version::vercmp;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Versions built from the pieces that make pacman's comparison interesting: epochs, numeric
/// and alphabetic segments, leading zeros, unusual and repeated separators, release parts.
fn version(rng: &mut Rng) -> String {
    let mut v = String::new();
    match rng.below(6) {
        0 => v.push_str(&format!("{}:", rng.below(3))),
        1 => v.push(':'),
        _ => {}
    }
    let segments = 1 + rng.below(4);
    for i in 0..segments {
        if i > 0 {
            v.push_str(rng.pick(&[".", ".", ".", "_", "+", "..", "~", "-", ""]));
        }
        match rng.below(7) {
            0 => v.push_str(rng.pick(&["a", "b", "rc", "alpha", "beta", "pre", "Z", "git"])),
            1 => v.push_str(&format!("0{}", rng.below(10))),
            2 => v.push_str(&format!(
                "{}{}",
                rng.below(20),
                rng.pick(&["a", "b", "rc1", "p"])
            )),
            3 => v.push_str(&format!("{}", rng.below(100_000_000_000))),
            _ => v.push_str(&format!("{}", rng.below(12))),
        }
    }
    match rng.below(4) {
        0 => {}
        1 => v.push_str(&format!("-{}.{}", rng.below(3), rng.below(3))),
        _ => v.push_str(&format!("-{}", rng.below(4))),
    }
    v
}

/// Pairs that are often equal or nearly so, since near-misses are where ports go wrong.
fn pairs(count: usize) -> Vec<(String, String)> {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    (0..count)
        .map(|_| {
            let a = version(&mut rng);
            let b = match rng.below(4) {
                0 => a.clone(),
                1 => {
                    let mut b = a.clone();
                    let pos = rng.below(b.len() as u64 + 1) as usize;
                    b.insert_str(pos, rng.pick(&["0", "1", ".", "a", "-1", ":"]));
                    b
                }
                _ => version(&mut rng),
            };
            (a, b)
        })
        .collect()
}

/// Runs vercmp on every pair through one shell per batch (spawning a process per pair from
/// Rust would dominate the test's time).
fn oracle(pairs: &[(String, String)]) -> Vec<Ordering> {
    let mut script = String::new();
    for (a, b) in pairs {
        script.push_str(&format!("vercmp '{a}' '{b}'\n"));
    }
    let mut child = Command::new("sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running sh (is /usr/bin/vercmp installed? it comes with pacman)");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let results: Vec<Ordering> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse::<i32>().expect("vercmp output").cmp(&0))
        .collect();
    assert_eq!(results.len(), pairs.len(), "vercmp answered every pair");
    results
}

#[test]
fn agrees_with_pacman_vercmp_on_generated_pairs() {
    assert!(
        Command::new("vercmp").arg("1").arg("2").output().is_ok(),
        "vercmp is required (Debian package pacman-package-manager)"
    );
    let pairs = pairs(12_000);
    let batches: Vec<_> = pairs.chunks(3_000).collect();
    let expected: Vec<Ordering> = std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .iter()
            .map(|batch| scope.spawn(|| oracle(batch)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut disagreements = Vec::new();
    for ((a, b), want) in pairs.iter().zip(&expected) {
        let got = vercmp(a, b);
        if got != *want {
            disagreements.push(format!("vercmp {a:?} {b:?}: pacman {want:?}, ours {got:?}"));
        }
    }
    let distinct = expected.iter().filter(|o| **o != Ordering::Equal).count();
    assert!(
        distinct > pairs.len() / 3,
        "the generator produced mostly equal pairs"
    );
    assert!(
        disagreements.is_empty(),
        "{} of {} pairs disagree:\n{}",
        disagreements.len(),
        pairs.len(),
        disagreements[..disagreements.len().min(30)].join("\n")
    );
}
