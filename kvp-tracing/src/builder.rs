//! Configuring and starting a [`KvpLayer`]: where the pool is, who writes,
//! in which format, and the limits that keep the caller from waiting.

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use kvp_core::{KvpStore, Options, Pool};
use kvp_report::cloud_init::boot_incarnation;
use kvp_report::{CloudInitVariant, CloudInitWriter, DiagWriter, Machine};
use tracing_core::LevelFilter;

use crate::error::{Error, Result};
use crate::handle::{KvpGuard, KvpHandle};
use crate::ids::IdSource;
use crate::layer::KvpLayer;
use crate::worker::{self, Encoder, Shared};

/// How many records the queue holds by default.
pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;
/// How long the writer waits for the pool's lock by default before it
/// drops a batch.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_millis(100);
/// The default cap on one field's value, in bytes.
pub const DEFAULT_MAX_FIELD_BYTES: usize = 4096;
/// How long dropping a [`KvpGuard`] waits for the queue to drain by
/// default.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
enum Target {
    /// Pool 1 in this directory (`/var/lib/hyperv` for `None`).
    Dir(Option<PathBuf>),
    /// The pool file at this path.
    Path(PathBuf),
}

/// Configures a [`KvpLayer`]; start with [`KvpLayer::builder`].
///
/// | setting | default |
/// |---|---|
/// | pool | pool 1 in `/var/lib/hyperv` ([`Builder::pool_dir`], [`Builder::pool_path`]) |
/// | VM id | read from the machine ([`Builder::vm_id`], [`Builder::machine`]) |
/// | format | `DIAG_V1` ([`Builder::cloud_init`]) |
/// | level | `INFO` and above ([`Builder::level`]) |
/// | queue | [`DEFAULT_QUEUE_CAPACITY`] records ([`Builder::queue_capacity`]) |
/// | lock timeout | [`DEFAULT_LOCK_TIMEOUT`] ([`Builder::lock_timeout`]) |
/// | field cap | [`DEFAULT_MAX_FIELD_BYTES`] ([`Builder::max_field_bytes`]) |
/// | guard's wait on drop | [`DEFAULT_SHUTDOWN_TIMEOUT`] ([`Builder::shutdown_timeout`]) |
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until build"]
pub struct Builder {
    agent: String,
    vm_id: Option<String>,
    machine: Machine,
    target: Target,
    cloud_init: Option<CloudInitVariant>,
    level: LevelFilter,
    capacity: usize,
    lock_timeout: Duration,
    max_field_bytes: usize,
    shutdown_timeout: Duration,
}

impl KvpLayer {
    /// A builder for a layer writing as `agent` (the `DIAG_V1` agent
    /// field: at most 32 bytes, no `|`, such as `my-agent-1.0`).
    pub fn builder(agent: impl Into<String>) -> Builder {
        Builder {
            agent: agent.into(),
            vm_id: None,
            machine: Machine::new(),
            target: Target::Dir(None),
            cloud_init: None,
            level: LevelFilter::INFO,
            capacity: DEFAULT_QUEUE_CAPACITY,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            max_field_bytes: DEFAULT_MAX_FIELD_BYTES,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

impl Builder {
    /// Writes pool 1 (`.kvp_pool_1`) in `dir` instead of `/var/lib/hyperv`.
    pub fn pool_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.target = Target::Dir(Some(dir.into()));
        self
    }

    /// Writes the pool file at `path`.
    pub fn pool_path(mut self, path: impl Into<PathBuf>) -> Builder {
        self.target = Target::Path(path.into());
        self
    }

    /// The VM id to tag records with (a UUID), instead of reading it from
    /// the machine.
    pub fn vm_id(mut self, vm_id: impl Into<String>) -> Builder {
        self.vm_id = Some(vm_id.into());
        self
    }

    /// The machine to read the VM id from when none is given
    /// (`Machine::with_root` for tests); [`Machine::new`] by default.
    pub fn machine(mut self, machine: Machine) -> Builder {
        self.machine = machine;
        self
    }

    /// Writes cloud-init's event format of `variant` instead of `DIAG_V1`,
    /// with this boot's incarnation (for cloud-init modules and tools that
    /// read only cloud-init's records). The agent is not written in this
    /// format; the VM id only in the 26.1 variant.
    pub fn cloud_init(mut self, variant: CloudInitVariant) -> Builder {
        self.cloud_init = Some(variant);
        self
    }

    /// The most verbose level written: spans and events below it are
    /// ignored. `INFO` by default; [`LevelFilter::OFF`] writes nothing.
    pub fn level(mut self, level: LevelFilter) -> Builder {
        self.level = level;
        self
    }

    /// How many records (span starts, finishes and events) may wait for
    /// the writer; more are dropped and counted. At least 1.
    pub fn queue_capacity(mut self, capacity: usize) -> Builder {
        self.capacity = capacity;
        self
    }

    /// How long the writer waits for the pool's locks before it drops the
    /// batch in hand and counts it. Only the writer thread ever waits.
    /// Ignored by [`Builder::build_with_store`], whose store has its own.
    pub fn lock_timeout(mut self, timeout: Duration) -> Builder {
        self.lock_timeout = timeout;
        self
    }

    /// The most bytes of one field's value that are formatted and written;
    /// a longer value is cut at a character boundary and ends in `…`. This
    /// bounds both the caller's formatting work and the records an event
    /// takes.
    pub fn max_field_bytes(mut self, bytes: usize) -> Builder {
        self.max_field_bytes = bytes;
        self
    }

    /// How long dropping the [`KvpGuard`] waits for the queue to drain.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Builder {
        self.shutdown_timeout = timeout;
        self
    }

    /// Opens the pool (nothing is created until the first write), checks
    /// the agent and the VM id (reading it from the machine if needed),
    /// and starts the writer thread.
    pub fn build(self) -> Result<(KvpLayer, KvpGuard)> {
        let options = Options::new().lock_timeout(Some(self.lock_timeout));
        let store = match &self.target {
            Target::Dir(dir) => options.open_pool(Pool::Guest, dir.as_deref())?,
            Target::Path(path) => options.open(path)?,
        };
        self.build_with_store(store)
    }

    /// As [`Builder::build`], writing into `store` (a `FileStore` opened
    /// with options of your own, or a `MemoryStore`). Its lock timeout is
    /// the one the writer waits; keep it short.
    pub fn build_with_store<S>(self, store: S) -> Result<(KvpLayer, KvpGuard)>
    where
        S: KvpStore + Send + 'static,
    {
        if self.capacity == 0 {
            return Err(Error::InvalidOption {
                option: "queue_capacity",
                reason: "the queue must hold at least one record",
            });
        }
        let encoder = self.encoder()?;
        let (queue, receiver) = mpsc::sync_channel(self.capacity);
        let shared = Arc::new(Shared::default());
        let thread =
            worker::spawn(store, encoder, receiver, Arc::clone(&shared)).map_err(Error::Spawn)?;
        let layer = KvpLayer {
            queue: queue.clone(),
            shared: Arc::clone(&shared),
            ids: Arc::new(IdSource::new()),
            level: self.level,
            max_field_bytes: self.max_field_bytes,
        };
        let guard = KvpGuard::new(KvpHandle { queue, shared }, thread, self.shutdown_timeout);
        Ok((layer, guard))
    }

    fn resolved_vm_id(&self) -> Result<String> {
        match &self.vm_id {
            Some(id) => Ok(id.clone()),
            None => Ok(self.machine.vm_id()?),
        }
    }

    fn encoder(&self) -> Result<Encoder> {
        Ok(match self.cloud_init {
            None => Box::new(DiagWriter::new(
                self.agent.as_str(),
                self.resolved_vm_id()?,
            )?),
            Some(variant) => {
                let writer = CloudInitWriter::new(variant, boot_incarnation()?);
                match (variant, &self.vm_id) {
                    (CloudInitVariant::V26_1, _) => {
                        let vm_id = self.resolved_vm_id()?;
                        if uuid::Uuid::parse_str(&vm_id).is_err() {
                            return Err(kvp_report::Error::InvalidUuid {
                                field: "vm_id",
                                value: vm_id,
                            }
                            .into());
                        }
                        Box::new(writer.with_vm_id(vm_id))
                    }
                    (_, Some(id)) => Box::new(writer.with_vm_id(id.as_str())),
                    (_, None) => Box::new(writer),
                }
            }
        })
    }
}
