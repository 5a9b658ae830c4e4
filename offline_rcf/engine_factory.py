"""Picking a forest engine by name: a fresh one (:func:`make_engine`) or one restored from its state bytes.

The engines depend on the contract in :mod:`offline_rcf.engine`; this module depends on the engines, lazily,
so choosing an engine never starts the JVM or loads numba unless that engine is used.
"""

from __future__ import annotations

from typing import get_args

from offline_rcf.engine import Engine, EngineName, ForestConfig

ENGINE_NAMES: tuple[str, ...] = get_args(EngineName)


def check_engine_name(engine: str) -> None:
    """Raise ``ValueError`` unless ``engine`` names an engine.

    >>> check_engine_name("native")
    >>> check_engine_name("gpu")
    Traceback (most recent call last):
    ...
    ValueError: unknown engine 'gpu'; use 'jvm' or 'native'
    """
    if engine not in ENGINE_NAMES:
        raise ValueError(f"unknown engine {engine!r}; use {' or '.join(repr(n) for n in ENGINE_NAMES)}")


def make_engine(config: ForestConfig, engine: EngineName = "jvm") -> Engine:
    """A fresh engine: ``"jvm"`` (AWS's jars via JPype, the reference) or ``"native"`` (numpy, issue 9)."""
    check_engine_name(engine)
    if engine == "jvm":
        from offline_rcf.jvm import JVMEngine

        return JVMEngine(config)
    from offline_rcf.native import NativeEngine

    return NativeEngine(config)


def restore_engine(config: ForestConfig, state: bytes, engine: EngineName = "jvm") -> Engine:
    """An engine restored from ``Engine.state()`` bytes (JVM: the forest's JSON state; native: its own npz)."""
    check_engine_name(engine)
    if engine == "jvm":
        from offline_rcf.jvm import JVMEngine

        return JVMEngine.from_state(config, state)
    from offline_rcf.native import NativeEngine

    return NativeEngine.from_state(state)  # its state carries its config
