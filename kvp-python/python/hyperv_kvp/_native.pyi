# Stubs for the native module hyperv_kvp._native (kvp-python/src), checked
# against it with `python -m mypy.stubtest hyperv_kvp`.
from typing import Any, Dict, List, Optional, Tuple, final

__all__ = [
    "NativePool",
    "parse_pool",
    "parse_mode",
    "limits",
    "decode_slot",
    "DEFAULT_DIR",
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_CREATE_MODE",
    "DEFAULT_MAX_POOL_BYTES",
    "__version__",
    "NativeEventWriter",
    "report_encode",
    "report_decode",
    "report_shortened",
    "shorten_for_host",
    "report_write",
    "report_read",
    "machine_vm_id",
    "machine_system_uuid",
    "machine_generation",
    "machine_chassis_asset_tag",
    "machine_is_azure",
    "vm_id_of",
    "decode_records",
    "read_entries",
    "PROVISIONING_REPORT_KEY",
    "DOCUMENTATION_URL",
    "SHORTENED_FIELD",
    "SHORTENED_SUFFIX",
    "AZURE_CHASSIS_ASSET_TAG",
    "DIAG_MAX_AGENT_BYTES",
    "DIAG_MAX_NAME_BYTES",
    "DEFAULT_MAX_PAYLOAD",
]

__version__: str
DEFAULT_DIR: str
DEFAULT_LOCK_TIMEOUT: float
DEFAULT_CREATE_MODE: int
DEFAULT_MAX_POOL_BYTES: int

def parse_pool(name: str) -> int: ...
def parse_mode(name: str) -> str: ...
def limits() -> List[Tuple[str, int]]: ...
def decode_slot(slot: bytes) -> Tuple[str, str]: ...
@final
class NativePool:
    def __new__(
        cls,
        *,
        pool: int,
        directory: Optional[str],
        path: Optional[str],
        mode: str,
        lock_timeout: Optional[float],
        sync: bool,
        create_mode: int,
        max_pool_bytes: int,
    ) -> NativePool: ...
    @property
    def path(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def lock_timeout(self) -> Optional[float]: ...
    @property
    def sync(self) -> bool: ...
    @property
    def create_mode(self) -> int: ...
    @property
    def max_pool_bytes(self) -> int: ...
    def insert(self, key: str, value: str) -> None: ...
    def append(self, key: str, value: str) -> None: ...
    def append_many(self, entries: List[Tuple[str, str]]) -> None: ...
    def load(self, entries: List[Tuple[str, str]]) -> None: ...
    def read_raw(self, key: bytes) -> Optional[str]: ...
    def delete_raw(self, key: bytes) -> int: ...
    def clear(self) -> None: ...
    def entries(self) -> Dict[str, str]: ...
    def records(self) -> List[Tuple[str, str]]: ...
    def record_count(self) -> int: ...
    def unique_keys(self) -> int: ...
    def is_stale(self) -> bool: ...
    def clear_if_stale(self) -> bool: ...
    def dump_json(self) -> str: ...

# -- reporting (kvp-python/src/report.rs, over kvp-report) -------------------

PROVISIONING_REPORT_KEY: str
DOCUMENTATION_URL: str
SHORTENED_FIELD: str
SHORTENED_SUFFIX: str
AZURE_CHASSIS_ASSET_TAG: str
DIAG_MAX_AGENT_BYTES: int
DIAG_MAX_NAME_BYTES: int
DEFAULT_MAX_PAYLOAD: int

# (result, agent, vm_id, timestamp, pps_type, reason, documentation_url,
# supporting_data)
_ReportFields = Tuple[
    str,
    str,
    str,
    Optional[str],
    Optional[str],
    Optional[str],
    Optional[str],
    List[Tuple[str, str]],
]
# (kind, name, text, data, event_type, result, duration_ns, timestamp,
# event_id, compressed)
_EventArgs = Tuple[
    str,
    str,
    Optional[str],
    Optional[bytes],
    Optional[str],
    Optional[str],
    Optional[int],
    Optional[Tuple[int, int]],
    Optional[str],
    bool,
]

def report_encode(report: _ReportFields, dialect: str, safe: bool) -> str: ...
def report_decode(value: str) -> _ReportFields: ...
def report_shortened(report: _ReportFields) -> Optional[int]: ...
def shorten_for_host(value: str) -> str: ...
def report_write(pool: NativePool, report: _ReportFields, dialect: str) -> str: ...
def report_read(pool: NativePool) -> Optional[_ReportFields]: ...
def machine_vm_id(root: str) -> str: ...
def machine_system_uuid(root: str) -> str: ...
def machine_generation(root: str) -> int: ...
def machine_chassis_asset_tag(root: str) -> Optional[str]: ...
def machine_is_azure(root: str) -> bool: ...
def vm_id_of(system_uuid: str, generation: int) -> str: ...
def decode_records(
    records: List[Tuple[bytes, bytes]], partial: bool, max_payload: int, decompress: bool
) -> List[Dict[str, Any]]: ...
def read_entries(
    pool: NativePool, partial: bool, max_payload: int, decompress: bool
) -> List[Dict[str, Any]]: ...
@final
class NativeEventWriter:
    @staticmethod
    def diag_v1(agent: str, vm_id: str, precision: str) -> NativeEventWriter: ...
    @staticmethod
    def cloud_init(variant: str, incarnation: int, vm_id: Optional[str]) -> NativeEventWriter: ...
    @property
    def format(self) -> str: ...
    def encode(self, event: _EventArgs) -> List[Tuple[str, str]]: ...
    def write(self, pool: NativePool, event: _EventArgs) -> List[str]: ...
