//! Each kvp-core operation against its C floor (tests/bench/floor.c: only
//! the syscalls and copying the operation must do), in one process, in
//! paired blocks: a block of calls through kvp-core, then a block of calls
//! of the floor (the order swaps every block), so that a slow spell of this
//! shared machine hits both sides of a pair. Each block gives a ratio
//! (kvp-core's mean per call over the floor's); the result is the median
//! ratio over the blocks with its quartiles.
//!
//! `bench_floor FLOOR_SO DIR [BLOCKS] [CALLS] [ONLY]` (tests/bench/run.sh
//! builds the shared object with gcc and runs this; ONLY keeps the
//! comparisons whose name it equals) prints one line per comparison: `NAME SIZE CORE_NS FLOOR_NS RATIO Q1 Q3`, the two times
//! being the medians of the blocks' means.
//!
//! The pools, keys and setup are those of benches/support/workload.rs.
//! Both sides work on the same pool file, so that they read the same pages
//! of the page cache (two copies of a pool, written alike, gave runs in
//! which every scan was 10% dearer on one side). The setup before a call
//! (restoring or cutting the pool) is outside the timing. `entries-vs-read` pairs kvp-core's `entries` with the floor of
//! a `read`, the bound issue 15 sets for entries (2x);
//! `append-vs-path-open` pairs an append with the floor that opens the
//! pool by its whole path, as a plain C program does, where the other
//! floors open it relative to a directory descriptor, as kvp-core does.

#[path = "../benches/support/workload.rs"]
mod workload;

use std::ffi::{c_char, c_int, c_long, CString};
use std::hint::black_box;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kvp_core::{FileStore, KvpStore};

type ReadFn = unsafe extern "C" fn(c_int, *const c_char, *const c_char, *mut c_char) -> c_int;
type UpdateFn = unsafe extern "C" fn(c_int, *const c_char, *const c_char, *const c_char) -> c_int;
type EntriesFn = unsafe extern "C" fn(c_int, *const c_char) -> c_long;
type DeleteFn = unsafe extern "C" fn(c_int, *const c_char, *const c_char) -> c_long;
type AppendPathFn = unsafe extern "C" fn(*const c_char, *const c_char, *const c_char) -> c_int;

/// The floor functions, from the shared object.
struct Floor {
    read: ReadFn,
    update: UpdateFn,
    entries: EntriesFn,
    delete: DeleteFn,
    append: UpdateFn,
    append_path: AppendPathFn,
    insert: UpdateFn,
}

/// Looks `name` up in the shared object `lib`, as a `T`.
///
/// # Safety
///
/// `T` must be the function pointer type of the symbol `name`.
unsafe fn symbol<T: Copy>(lib: *mut libc::c_void, name: &std::ffi::CStr) -> Result<T, String> {
    // SAFETY: `lib` is a handle dlopen returned and `name` is NUL-terminated.
    let found = unsafe { libc::dlsym(lib, name.as_ptr()) };
    if found.is_null() {
        return Err(format!("{name:?} is not in the floor library"));
    }
    assert_eq!(std::mem::size_of::<T>(), std::mem::size_of_val(&found));
    // SAFETY: the caller vouches that `T` is the symbol's type, a function
    // pointer, as large as the address (checked above).
    Ok(unsafe { std::mem::transmute_copy::<*mut libc::c_void, T>(&found) })
}

impl Floor {
    fn load(path: &Path) -> Result<Floor, String> {
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: a NUL-terminated path; the library stays loaded for the
        // life of the process (it is never dlclose'd).
        let lib = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW) };
        if lib.is_null() {
            return Err(format!("cannot load {}", path.display()));
        }
        // SAFETY: tests/bench/floor.c defines each symbol with exactly the
        // C signature of its field's type.
        unsafe {
            Ok(Floor {
                read: symbol(lib, c"floor_read")?,
                update: symbol(lib, c"floor_update")?,
                entries: symbol(lib, c"floor_entries")?,
                delete: symbol(lib, c"floor_delete")?,
                append: symbol(lib, c"floor_append")?,
                append_path: symbol(lib, c"floor_append_path")?,
                insert: symbol(lib, c"floor_insert")?,
            })
        }
    }
}

/// The operations compared.
#[derive(Clone, Copy, PartialEq)]
enum Op {
    Read,
    Update,
    Entries,
    EntriesVsRead,
    Delete,
    Append,
    /// Append against the floor that opens the whole path.
    AppendPath,
    InsertNew,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Update => "update",
            Op::Entries => "entries",
            Op::EntriesVsRead => "entries-vs-read",
            Op::Delete => "delete",
            Op::Append => "append",
            Op::AppendPath => "append-vs-path-open",
            Op::InsertNew => "insert-new",
        }
    }
}

/// One pool size's files, keys and store.
struct Bench<'f> {
    floor: &'f Floor,
    n: usize,
    image: Vec<u8>,
    store: FileStore,
    /// The pool both sides work on.
    path: PathBuf,
    dir: OwnedFd,
    floor_name: CString,
    c_floor_path: CString,
    read_key: String,
    update_key: String,
    c_read_key: CString,
    c_update_key: CString,
}

fn c(text: &str) -> CString {
    CString::new(text).expect("no NUL in a benchmark string")
}

impl Bench<'_> {
    fn setup(&self, op: Op, path: &Path) {
        match op {
            Op::Delete => workload::restore(path, &self.image),
            Op::Append | Op::AppendPath | Op::InsertNew => workload::truncate_to(path, self.n - 1),
            _ => {}
        }
    }

    fn core(&self, op: Op) {
        let ok = match op {
            Op::Read => black_box(self.store.read(&self.read_key)).is_ok(),
            Op::Update => self.store.insert(&self.update_key, "updated").is_ok(),
            Op::Entries | Op::EntriesVsRead => {
                black_box(self.store.entries()).is_ok_and(|e| e.len() == self.n)
            }
            Op::Delete => self
                .store
                .delete(workload::DELETE_KEY)
                .is_ok_and(|n| n == 1),
            Op::Append | Op::AppendPath => self.store.append(&self.read_key, "value").is_ok(),
            Op::InsertNew => self.store.insert(workload::NEW_KEY, "value").is_ok(),
        };
        assert!(ok, "kvp-core {} failed", op.name());
    }

    fn floor(&self, op: Op) {
        let (dir, name) = (self.dir.as_raw_fd(), self.floor_name.as_ptr());
        let mut out = [0 as c_char; 2048];
        let (new_key, value, updated) = (c(workload::NEW_KEY), c("value"), c("updated"));
        let f = self.floor;
        // SAFETY: every pointer is a NUL-terminated string or a 2048-byte
        // buffer that outlives the call, as floor.c's functions take them;
        // `dir` is an open directory descriptor.
        let ok = unsafe {
            match op {
                Op::Read | Op::EntriesVsRead => {
                    (f.read)(dir, name, self.c_read_key.as_ptr(), out.as_mut_ptr()) == 1
                }
                Op::Update => {
                    (f.update)(dir, name, self.c_update_key.as_ptr(), updated.as_ptr()) == 1
                }
                Op::Entries => (f.entries)(dir, name) == self.n as c_long,
                Op::Delete => (f.delete)(dir, name, c(workload::DELETE_KEY).as_ptr()) == 1,
                Op::Append => (f.append)(dir, name, self.c_read_key.as_ptr(), value.as_ptr()) == 0,
                Op::AppendPath => {
                    let path = self.c_floor_path.as_ptr();
                    (f.append_path)(path, self.c_read_key.as_ptr(), value.as_ptr()) == 0
                }
                Op::InsertNew => (f.insert)(dir, name, new_key.as_ptr(), value.as_ptr()) == 1,
            }
        };
        assert!(ok, "floor {} failed", op.name());
    }

    /// Nanoseconds per call over `calls` calls of one side.
    fn block(&self, op: Op, core: bool, calls: u32) -> f64 {
        let mut spent = Duration::ZERO;
        for _ in 0..calls {
            self.setup(op, &self.path);
            let start = Instant::now();
            if core {
                self.core(op);
            } else {
                self.floor(op);
            }
            spent += start.elapsed();
        }
        spent.as_nanos() as f64 / f64::from(calls)
    }

    /// The paired blocks of one comparison: (core, floor, ratio, q1, q3).
    fn compare(&self, op: Op, blocks: u32, calls: u32) -> [f64; 5] {
        workload::restore(&self.path, &self.image);
        workload::settle();
        for core in [true, false] {
            self.block(op, core, calls.max(10));
        }
        let (mut cores, mut floors, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for block in 0..blocks {
            let core_first = block % 2 == 0;
            let first = self.block(op, core_first, calls);
            let second = self.block(op, !core_first, calls);
            let (core, floor) = if core_first {
                (first, second)
            } else {
                (second, first)
            };
            cores.push(core);
            floors.push(floor);
            ratios.push(core / floor);
        }
        let q = |v: &mut Vec<f64>, at: f64| {
            v.sort_by(f64::total_cmp);
            v[((v.len() - 1) as f64 * at).round() as usize]
        };
        [
            q(&mut cores, 0.5),
            q(&mut floors, 0.5),
            q(&mut ratios, 0.5),
            q(&mut ratios, 0.25),
            q(&mut ratios, 0.75),
        ]
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(lib), Some(dir)) = (args.first(), args.get(1)) else {
        eprintln!("usage: bench_floor FLOOR_SO DIR [BLOCKS] [CALLS] [ONLY]");
        return ExitCode::from(2);
    };
    let number =
        |i: usize, default: u32| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (blocks, calls) = (number(2, 200), number(3, 20));
    let floor = match Floor::load(Path::new(lib)) {
        Ok(floor) => floor,
        Err(e) => {
            eprintln!("bench_floor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let dir = PathBuf::from(dir);
    let dir_fd = std::fs::File::open(&dir).expect("open the pool directory");
    let runs: [(usize, &[Op]); 2] = [
        (
            1023,
            &[
                Op::Read,
                Op::Update,
                Op::Entries,
                Op::EntriesVsRead,
                Op::Delete,
                Op::Append,
                Op::AppendPath,
                Op::InsertNew,
            ],
        ),
        (100, &[Op::InsertNew]),
    ];
    for (n, ops) in runs {
        let path = dir.join(format!("pool-{n}"));
        let c_floor_path = CString::new(path.as_os_str().as_bytes()).expect("no NUL");
        let image = workload::image(n);
        workload::restore(&path, &image);
        let bench = Bench {
            floor: &floor,
            n,
            image,
            store: FileStore::open(&path).expect("open"),
            path,
            dir: OwnedFd::from(dir_fd.try_clone().expect("dup")),
            floor_name: c(&format!("pool-{n}")),
            c_floor_path,
            read_key: workload::read_key(n),
            update_key: workload::update_key(n),
            c_read_key: c(&workload::read_key(n)),
            c_update_key: c(&workload::update_key(n)),
        };
        for &op in ops
            .iter()
            .filter(|op| args.get(4).is_none_or(|only| only == op.name()))
        {
            let [core, floor, ratio, q1, q3] = bench.compare(op, blocks, calls);
            println!(
                "{} {n} {core:.1} {floor:.1} {ratio:.4} {q1:.4} {q3:.4}",
                op.name()
            );
        }
    }
    ExitCode::SUCCESS
}
