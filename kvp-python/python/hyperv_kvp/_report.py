"""PROVISIONING_REPORT and the VM id, over kvp-report (public through
:mod:`hyperv_kvp.reporting`)."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Optional, Tuple, Union

from . import _native
from ._pool import KvpPool, StrPath

__all__ = [
    "PROVISIONING_REPORT_KEY",
    "DOCUMENTATION_URL",
    "SHORTENED_FIELD",
    "SHORTENED_SUFFIX",
    "AZURE_CHASSIS_ASSET_TAG",
    "ReportResult",
    "PpsType",
    "Dialect",
    "SupportingData",
    "ProvisioningReport",
    "write_report",
    "read_report",
    "Generation",
    "Machine",
    "vm_id_of",
]

PROVISIONING_REPORT_KEY: str = _native.PROVISIONING_REPORT_KEY
"""The key of the one record the Azure host parses."""
DOCUMENTATION_URL: str = _native.DOCUMENTATION_URL
"""The documentation URL both peers put in error reports."""
SHORTENED_FIELD: str = _native.SHORTENED_FIELD
"""The supporting-data field that marks a shortened report (``shortened=<length
of the full report in UTF-16 code units>``)."""
SHORTENED_SUFFIX: str = _native.SHORTENED_SUFFIX
"""What ends a reason or supporting-data value that was cut (``...``)."""
AZURE_CHASSIS_ASSET_TAG: str = _native.AZURE_CHASSIS_ASSET_TAG
"""The DMI chassis asset tag of Azure VMs."""


class ReportResult(enum.Enum):
    """A report's ``result``; ``.value`` is the wire token."""

    SUCCESS = "success"
    ERROR = "error"


class PpsType(enum.Enum):
    """The pre-provisioning type (``pps_type``); ``.value`` is the wire token."""

    NONE = "None"
    PREPROVISIONED_OS_DISK = "PreprovisionedOSDisk"
    RUNNING = "Running"
    SAVABLE = "Savable"
    UNKNOWN = "Unknown"


class Dialect(enum.Enum):
    """Whose spelling of the report to write: cloud-init's
    (``errors.encode_report``, quote ``'``) or azure-init's (``report.rs``,
    quote ``"``, ``pps_type`` always written). ``.value`` is the name the
    other faces use (``kvp report --dialect``)."""

    CLOUD_INIT = "cloud-init"
    AZURE_INIT = "azure-init"


SupportingData = Union[Mapping[str, str], Iterable[Tuple[str, str]]]
"""Supporting data as given: a mapping, or ``(key, value)`` pairs (which
may repeat a key)."""


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    return value


def _optional_text(name: str, value: object) -> Optional[str]:
    return None if value is None else _text(name, value)


def _pairs(data: object) -> Tuple[Tuple[str, str], ...]:
    if isinstance(data, Mapping):
        items: Iterable[object] = data.items()
    elif isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise TypeError(
            f"supporting_data takes a mapping or (key, value) pairs, not {type(data).__name__}"
        )
    else:
        items = data
    pairs = []
    for index, item in enumerate(items):
        if not isinstance(item, tuple) or len(item) != 2:
            raise TypeError(f"supporting_data: entry {index} must be a (key, value) tuple, not {item!r}")
        pairs.append((_text(f"supporting_data key {index}", item[0]),
                      _text(f"supporting_data value {index}", item[1])))
    return tuple(pairs)


def _dialect(dialect: Union[Dialect, str]) -> str:
    return Dialect(dialect).value


@dataclass(frozen=True)
class ProvisioningReport:
    """A provisioning report, in either dialect.

    Build one with :meth:`success` or :meth:`error`; every field is also
    an argument of the constructor. ``timestamp`` is the text as written,
    None meaning "now" in the dialect's spelling when it is encoded;
    ``vm_id`` is written as given. ``supporting_data`` keeps its order and
    repeated keys. Equal reports compare equal; the object is immutable
    (:meth:`with_supporting` and :func:`dataclasses.replace` make changed
    copies).
    """

    result: ReportResult
    agent: str
    vm_id: str
    timestamp: Optional[str] = None
    pps_type: Optional[PpsType] = None
    reason: Optional[str] = None
    documentation_url: Optional[str] = None
    supporting_data: Tuple[Tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        set_field = object.__setattr__
        set_field(self, "result", ReportResult(self.result))
        _text("agent", self.agent)
        _text("vm_id", self.vm_id)
        for name in ("timestamp", "reason", "documentation_url"):
            _optional_text(name, getattr(self, name))
        if self.pps_type is not None:
            set_field(self, "pps_type", PpsType(self.pps_type))
        set_field(self, "supporting_data", _pairs(self.supporting_data))

    @classmethod
    def success(
        cls,
        agent: str,
        vm_id: str,
        *,
        timestamp: Optional[str] = None,
        pps_type: Optional[PpsType] = None,
        supporting_data: SupportingData = (),
        documentation_url: Optional[str] = None,
    ) -> ProvisioningReport:
        """A success report (``agent`` such as ``My-Agent/1.0``)."""
        return cls(
            ReportResult.SUCCESS,
            agent,
            vm_id,
            timestamp=timestamp,
            pps_type=pps_type,
            documentation_url=documentation_url,
            supporting_data=_pairs(supporting_data),
        )

    @classmethod
    def error(
        cls,
        agent: str,
        vm_id: str,
        reason: str,
        *,
        timestamp: Optional[str] = None,
        pps_type: Optional[PpsType] = None,
        supporting_data: SupportingData = (),
        documentation_url: Optional[str] = DOCUMENTATION_URL,
    ) -> ProvisioningReport:
        """An error report with its reason and, as both peers write it,
        :data:`DOCUMENTATION_URL`."""
        return cls(
            ReportResult.ERROR,
            agent,
            vm_id,
            timestamp=timestamp,
            pps_type=pps_type,
            reason=_text("reason", reason),
            documentation_url=documentation_url,
            supporting_data=_pairs(supporting_data),
        )

    def with_supporting(self, key: str, value: str) -> ProvisioningReport:
        """A copy with one more supporting-data field at the end."""
        return replace(self, supporting_data=self.supporting_data + ((key, value),))

    def _fields(self) -> _native._ReportFields:
        return (
            self.result.value,
            self.agent,
            self.vm_id,
            self.timestamp,
            None if self.pps_type is None else self.pps_type.value,
            self.reason,
            self.documentation_url,
            list(self.supporting_data),
        )

    @classmethod
    def _from_fields(cls, fields: _native._ReportFields) -> ProvisioningReport:
        result, agent, vm_id, timestamp, pps_type, reason, url, supporting = fields
        return cls(
            ReportResult(result),
            agent,
            vm_id,
            timestamp=timestamp,
            pps_type=None if pps_type is None else PpsType(pps_type),
            reason=reason,
            documentation_url=url,
            supporting_data=tuple(supporting),
        )

    def encode(self, dialect: Union[Dialect, str] = Dialect.AZURE_INIT) -> str:
        """The value exactly as the dialect's peer writes these fields, with
        no limit applied (it may be longer than the host receives)."""
        return _native.report_encode(self._fields(), _dialect(dialect), False)

    def encode_safe(self, dialect: Union[Dialect, str] = Dialect.AZURE_INIT) -> str:
        """The value as :func:`write_report` writes it: within what the host
        receives whole (1022 UTF-16 code units). A longer report is
        shortened in its reason and supporting-data values only, each cut
        whole before quoting and ending with ``...``, and marked with a last
        ``shortened=<original length>`` field. Raises ReportTooLargeError
        when the fixed fields alone are too long."""
        return _native.report_encode(self._fields(), _dialect(dialect), True)

    @classmethod
    def decode(cls, value: str) -> ProvisioningReport:
        """Decodes a value of either dialect (quotes ``'`` or ``"``); raises
        ReportFormatError for anything else, such as a report cloud-init cut
        at 1023 characters inside a quoted field."""
        return cls._from_fields(_native.report_decode(_text("value", value)))

    @property
    def shortened(self) -> Optional[int]:
        """The length of the original report, in UTF-16 code units, when
        this one was shortened; None otherwise."""
        return _native.report_shortened(self._fields())


def write_report(
    pool: KvpPool, report: ProvisioningReport, dialect: Union[Dialect, str] = Dialect.AZURE_INIT
) -> str:
    """Writes ``report`` as the pool's only ``PROVISIONING_REPORT`` record
    (insert: reports cloud-init appended before are replaced), shortened as
    :meth:`ProvisioningReport.encode_safe` does. Returns the value written."""
    if not isinstance(report, ProvisioningReport):
        raise TypeError(f"report must be a ProvisioningReport, not {type(report).__name__}")
    return _native.report_write(pool._n, report._fields(), _dialect(dialect))


def read_report(pool: KvpPool) -> Optional[ProvisioningReport]:
    """The pool's report (the last ``PROVISIONING_REPORT`` record, where
    cloud-init may have appended several), or None. Raises
    ReportFormatError when it does not decode."""
    fields = _native.report_read(pool._n)
    return None if fields is None else ProvisioningReport._from_fields(fields)


class Generation(enum.IntEnum):
    """A Hyper-V VM's firmware generation."""

    GEN1 = 1
    """Legacy BIOS (SMBIOS 2.3): the product UUID is byte-swapped."""
    GEN2 = 2
    """UEFI: the product UUID is the VM id."""


class Machine:
    """The machine whose DMI files are read: ``/``, or a test root holding
    ``sys/class/dmi/id/product_uuid``, ``sys/class/dmi/id/chassis_asset_tag``
    and, on Gen2, ``sys/firmware/efi`` or ``dev/efi``."""

    def __init__(self, root: StrPath = "/") -> None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a str or os.PathLike, not {type(root).__name__}")
        self.root: str = os.fspath(root)

    def __repr__(self) -> str:
        return f"Machine(root={self.root!r})"

    def vm_id(self) -> str:
        """The VM id, as IMDS calls it ``compute.vmId``: the product UUID
        lowercased, in canonical form, byte-swapped on Gen1. Raises
        VmIdError when the file holds no id (empty, zeros, ones) or no UUID,
        and the OS's error (FileNotFoundError, PermissionError) when it
        cannot be read: never a zero GUID."""
        return _native.machine_vm_id(self.root)

    def system_uuid(self) -> str:
        """The product UUID as DMI reports it, trimmed and lowercased,
        without the Gen1 swap (cloud-init 26.1+ falls back to it in event
        keys)."""
        return _native.machine_system_uuid(self.root)

    def generation(self) -> Generation:
        """GEN2 when ``sys/firmware/efi`` or ``dev/efi`` exists, GEN1
        otherwise (the rule of both peers)."""
        return Generation(_native.machine_generation(self.root))

    def chassis_asset_tag(self) -> Optional[str]:
        """The DMI chassis asset tag, trimmed; None when the file is missing."""
        return _native.machine_chassis_asset_tag(self.root)

    def is_azure(self) -> bool:
        """Whether the chassis asset tag is Azure's
        (:data:`AZURE_CHASSIS_ASSET_TAG`); an unreadable tag is not."""
        return _native.machine_is_azure(self.root)


def vm_id_of(system_uuid: str, generation: Union[Generation, int]) -> str:
    """The VM id of a product UUID read elsewhere, on a machine of
    ``generation``, as :meth:`Machine.vm_id` computes it."""
    return _native.vm_id_of(_text("system_uuid", system_uuid), int(Generation(generation)))
