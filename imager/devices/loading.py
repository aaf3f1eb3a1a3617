"""Device classes named in a lab configuration as ``"package.module:Class"``.

A lab configuration may name any class that implements a section's Protocol
(``[lockin]``: :class:`~imager.devices.interfaces.LockIn`, ``[stage_x]``:
:class:`~stages.interface.Stage` ...). :func:`load_device_class` imports it
(only when the configuration is read) and checks that it has the Protocol's
methods and that the section's other keys are parameters of its constructor;
:func:`build_device` makes it and checks the object for the attributes too.
Problems are one line naming the section (:class:`DriverSpecError`, a ``ValueError``).
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class DriverSpecError(ValueError):
    """A ``driver = "package.module:Class"`` cannot be used; the message is one line."""


def is_class_spec(driver: object) -> bool:
    """True if a ``driver`` value names a class (``"package.module:Class"``), not a built-in."""
    return isinstance(driver, str) and ":" in driver


def protocol_members(protocol: type) -> tuple[list[str], list[str]]:
    """``(methods, attributes)`` a :func:`typing.runtime_checkable` Protocol requires.

    Public names only, from the Protocol and the Protocols it extends: methods
    defined in their bodies, attributes annotated or given as properties.
    """
    methods: list[str] = []
    attributes: list[str] = []
    for base in reversed(protocol.__mro__):
        if not getattr(base, "_is_protocol", False) or base.__module__ == "typing":
            continue
        names = list(base.__dict__.get("__annotations__", {}))
        names += [n for n in base.__dict__ if n not in names]
        for name in names:
            if name.startswith("_") or name in methods or name in attributes:
                continue
            value = base.__dict__.get(name)
            if inspect.isfunction(value):
                methods.append(name)
            elif isinstance(value, property) or name in base.__dict__.get("__annotations__", {}):
                attributes.append(name)
    return methods, attributes


def missing_members(obj: object, protocol: type) -> list[str]:
    """Members of ``protocol`` that ``obj`` (a class or an instance) lacks.

    On a class only methods are checked (``name()``): attributes are often set in
    ``__init__``. On an instance, an attribute must also be a property of its class
    or present on it (properties are not read: that could mean talking to the device).
    """
    methods, attributes = protocol_members(protocol)
    missing = [f"{name}()" for name in methods if not callable(getattr(obj, name, None))]
    if not isinstance(obj, type):
        missing += [name for name in attributes
                    if not (isinstance(getattr(type(obj), name, None), property)
                            or hasattr(obj, name))]
    return missing


def load_device_class(spec: str, protocol: type, where: str,
                      options: dict[str, Any]) -> type:
    """Import the class ``spec`` names and check it against ``protocol`` and ``options``.

    Parameters
    ----------
    spec : str
        ``"package.module:Class"`` (``Class`` may be dotted: ``Outer.Inner``).
    protocol : type
        The Protocol the section's device implements.
    where : str
        Prefix of error messages, e.g. ``"lab.toml: [lockin] "``.
    options : dict
        The section's other keys: keyword arguments of the constructor.

    Returns
    -------
    type

    Raises
    ------
    DriverSpecError
        One line: a malformed spec, a module that does not import, no such class,
        a member of the Protocol missing, or an option the constructor does not take.
    """
    if not _SPEC.match(spec):
        raise DriverSpecError(f'{where}driver: "{spec}" is not "package.module:Class" '
                              "(or a built-in driver name)")
    module_name, _, qualname = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure to import is the user's to fix
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DriverSpecError(f"{where}driver: cannot import {module_name!r} "
                              f"({type(exc).__name__}: {detail})") from None
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise DriverSpecError(f"{where}driver: {module_name!r} has no {qualname!r}")
    if not isinstance(obj, type):
        raise DriverSpecError(f"{where}driver: {spec!r} is not a class")
    missing = missing_members(obj, protocol)
    if missing:
        raise DriverSpecError(f"{where}driver: {spec} does not implement {protocol.__name__}: "
                              f"missing {', '.join(missing)}")
    check_options(obj, spec, where, options)
    return obj


def check_options(cls: type, spec: str, where: str, options: dict[str, Any]) -> None:
    """DriverSpecError unless ``cls(**options)`` binds (nothing is called)."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # a builtin or C class: the call will tell
        return
    try:
        signature.bind(**options)
    except TypeError as exc:
        params = [p.name for p in signature.parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        raise DriverSpecError(f"{where}keys do not fit {spec}({', '.join(params)}): "
                              f"{exc}") from None


def build_device(cls: type, spec: str, protocol: type, where: str,
                 options: dict[str, Any]) -> Any:
    """``cls(**options)``, checked against ``protocol``.

    Raises
    ------
    DriverSpecError
        The object built lacks a member of the Protocol (it is closed first).
    Exception
        Whatever the constructor raises (a device that does not answer ...).
    """
    device = cls(**options)
    missing = missing_members(device, protocol)
    if missing:
        close = getattr(device, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001 - the protocol error is the one to report
                pass
        raise DriverSpecError(f"{where}driver: {spec} object does not implement "
                              f"{protocol.__name__}: missing {', '.join(missing)}")
    return device
