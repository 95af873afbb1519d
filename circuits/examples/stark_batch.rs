//! Batch-proving throughput of the STARK solvency statement (feature `stark`).
//!
//! `cargo run --release -p assay-circuits --features stark-parallel --example stark_batch [LOG_HEIGHT]`
//!
//! Prints, for K = 4 and K = 50 and w = 64, the users, the proving wall time, the CPU time of the
//! whole process (all threads, user + system, from `/proc/self/stat` on Linux), the user-assets per
//! CPU-second, the proof size and the verification time.

use std::time::Instant;

use assay_circuits::solvency::stark::{
    batch_statement, prove_batch, round_digest, verify_batch, BatchShape, StarkBatch, StarkUser,
    Val, DIGEST_ELEMS,
};
use p3_field::PrimeCharacteristicRing;

/// CPU seconds (user + system, all threads) of this process so far; `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0) // USER_HZ is 100 on Linux
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn digest(&mut self) -> [Val; DIGEST_ELEMS] {
        core::array::from_fn(|_| Val::from_u32((self.next() % 0x7f00_0001) as u32))
    }
}

fn batch(assets: usize, log_height: usize) -> StarkBatch {
    let shape = BatchShape::new(assets, log_height).expect("shape");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let users = (0..shape.users())
        .map(|_| StarkUser {
            id: rng.digest(),
            salt: core::array::from_fn(|_| Val::from_u32((rng.next() % 0x7f00_0001) as u32)),
            balances: (0..assets).map(|_| rng.next() >> 8).collect(),
        })
        .collect();
    StarkBatch {
        shape,
        users,
        blind: core::array::from_fn(|i| Val::from_u32(i as u32 + 1)),
        round: round_digest("bench").expect("round id"),
    }
}

fn main() {
    let log_height: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(12);
    println!(
        "threads: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for assets in [4usize, 50] {
        let b = batch(assets, log_height);
        let st = batch_statement(&b).expect("statement");
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let (bytes, public) = prove_batch(&b).expect("prove");
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu0.and_then(|c0| cpu_seconds().map(|c1| c1 - c0));
        assert_eq!(public, st.public);
        let t1 = Instant::now();
        verify_batch(&b.shape, &bytes, &public).expect("verify");
        let verify_ms = t1.elapsed().as_secs_f64() * 1e3;
        let user_assets = (b.shape.users() * assets) as f64;
        let cpu = cpu.unwrap_or(wall);
        println!(
            "K={assets:>2} w=64 users={:>6}: prove {wall:.2} s wall, {cpu:.2} CPU-s, \
             {:.0} user-assets per CPU-second, proof {} kB, verify {verify_ms:.1} ms",
            b.shape.users(),
            user_assets / cpu,
            bytes.len() / 1000,
        );
    }
}
