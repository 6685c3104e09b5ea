"""Where a generator runs: onnxruntime execution providers, GPU first, CPU always.

`auto` tries the GPU providers this onnxruntime build lists, in order of preference, and keeps
the first that really starts. A listed provider can still fail to start: onnxruntime-gpu lists
CUDA on a machine without the CUDA libraries and then silently runs on the CPU, so the check is
on the providers the session ended up with, not on the list.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from dataclasses import dataclass, field
from typing import Callable

import onnxruntime as ort

from texgen.errors import ModelError

# device name -> onnxruntime provider, in order of preference for `auto`.
PROVIDERS: dict[str, str] = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
DEVICES: tuple[str, ...] = ("auto", *PROVIDERS)


@dataclass
class OrtSession:
    """An onnxruntime session and the device it really runs on."""

    session: ort.InferenceSession
    device: str  # one of PROVIDERS' keys
    notes: list[str] = field(default_factory=list)  # why a preferred device was not used
    # The same for a GPU provider on a machine with no driver for it (onnxruntime-gpu, the
    # default install on Linux and Windows, lists CUDA everywhere): `texgen info` says it,
    # and every export on a CPU-only machine does not.
    quiet_notes: list[str] = field(default_factory=list)

    @property
    def provider(self) -> str:
        return PROVIDERS[self.device]


def available_devices() -> list[str]:
    """Devices whose provider this onnxruntime build lists (listing does not prove it starts)."""
    listed = set(ort.get_available_providers())
    return [d for d, p in PROVIDERS.items() if p in listed]


def _options(threads: int | None) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A failed GPU provider, or a model that fails to initialise, logs an error on stderr
    # before raising or falling back; texgen says what failed itself, in one line.
    opts.log_severity_level = 4
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return opts


# The library each GPU provider's driver installs, by platform: when it is absent the machine
# has no such GPU (or no driver for it), and the provider's failure to start is no news.
DRIVER_LIBRARIES = {("cuda", "linux"): "libcuda.so.1", ("cuda", "win32"): "nvcuda.dll"}


@functools.cache
def driver_present(device: str) -> bool:
    """Whether the GPU driver `device` needs loads here (True where that cannot be told)."""
    name = DRIVER_LIBRARIES.get((device, "linux" if sys.platform.startswith("linux") else sys.platform))
    if name is None:
        return True
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def open_session(model: bytes | str, device: str, threads: int | None) -> ort.InferenceSession | None:
    """An onnxruntime session of `model` on `device`; None where onnxruntime fell back to the CPU
    (the provider could not start). Raises what onnxruntime raises."""
    providers = [PROVIDERS[device]] + ([] if device == "cpu" else [PROVIDERS["cpu"]])
    session = ort.InferenceSession(model, sess_options=_options(threads), providers=providers)
    if session.get_providers()[0] != PROVIDERS[device]:
        return None
    return session


@dataclass
class Providers:
    """What onnxruntime offers this process: the devices it lists, how a session opens, whether
    a GPU's driver is installed, and the devices that failed to start (remembered: trying
    again costs time and says the same). `RUNTIME` is the process's own; tests pass theirs."""

    listed: Callable[[], list[str]] = available_devices
    open: Callable[[bytes | str, str, int | None], ort.InferenceSession | None] = open_session
    driver_present: Callable[[str], bool] = driver_present
    failed: dict[str, str] = field(default_factory=dict)

    def attempt(self, model: bytes | str, device: str, threads: int | None) -> ort.InferenceSession | None:
        # A provider library that fails to load, and a model that fails to initialise, log
        # through the default logger, before and regardless of the session's own severity:
        # quiet it for the attempt. What failed is raised, and the caller says it in one line.
        ort.set_default_logger_severity(4)
        try:
            return self.open(model, device, threads)
        finally:
            ort.set_default_logger_severity(3)


RUNTIME = Providers()


def _first_line(exc: Exception, limit: int) -> str:
    """An exception's first line, cut to `limit` characters (its type when it says nothing)."""
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__


def create_session(
    model: bytes | str, device: str = "auto", threads: int | None = None, providers: Providers | None = None
) -> OrtSession:
    """Open `model` (serialized ONNX, or a file's path) on `device`: auto | cpu | cuda |
    directml | coreml, with `providers` (default RUNTIME, this process's onnxruntime).

    Raises ModelError when an explicitly requested device is missing or cannot start, and
    lets onnxruntime's own errors about the model through to the caller.
    """
    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}", f"use one of {', '.join(DEVICES)}")
    if threads is not None and threads < 1:
        raise ModelError(f"threads must be at least 1, not {threads}", "leave it unset for all cores")
    rt = providers or RUNTIME
    listed = rt.listed()
    if device != "auto":
        if device not in listed:
            raise ModelError(
                f"device {device!r} is not available in this onnxruntime build (available: {', '.join(listed)})",
                "use --device auto or --device cpu"
                + (", or install onnxruntime-gpu for CUDA" if device == "cuda" else ""),
            )
        try:
            session = rt.attempt(model, device, threads)
        except Exception as exc:
            if device == "cpu":
                raise  # the model itself: the loader says what is wrong with it
            try:
                rt.attempt(model, "cpu", threads)
            except Exception as on_cpu:
                raise on_cpu from None  # the CPU refuses it too: the model, not the device
            raise ModelError(
                f"device {device!r} could not start ({_first_line(exc, 160)})",
                "use --device auto to fall back to the CPU, or check the GPU driver and runtime",
            ) from None
        if session is None:
            raise ModelError(
                f"device {device!r} is listed by onnxruntime but could not start "
                "(its driver or runtime libraries are missing)",
                "use --device auto to fall back to the CPU, or install the GPU runtime "
                "(for CUDA: the CUDA and cuDNN versions this onnxruntime-gpu release requires)",
            )
        return OrtSession(session, device)

    notes, quiet, on_cpu = [], [], None
    for candidate in [d for d in listed if d != "cpu"]:
        if candidate in rt.failed:
            (notes if rt.driver_present(candidate) else quiet).append(rt.failed[candidate])
            continue
        try:
            session = rt.attempt(model, candidate, threads)
        except Exception as exc:  # a provider that throws on start is as good as absent...  # noqa: BLE001
            # ... unless the CPU refuses the model too: then the model is at fault, raised here,
            # and the device stays in use for the next model (a corrupt file opened in the app
            # kept CUDA off until it was restarted).
            on_cpu = on_cpu or rt.attempt(model, "cpu", threads)  # kept: the CPU session is the fallback
            rt.failed[candidate] = f"{candidate} could not start ({_first_line(exc, 120)})"
            (notes if rt.driver_present(candidate) else quiet).append(rt.failed[candidate])
            continue
        if session is not None:
            return OrtSession(session, candidate, notes, quiet)
        rt.failed[candidate] = f"{candidate} is listed but could not start (driver or libraries missing)"
        (notes if rt.driver_present(candidate) else quiet).append(rt.failed[candidate])
    return OrtSession(on_cpu or rt.attempt(model, "cpu", threads), "cpu", notes, quiet)
