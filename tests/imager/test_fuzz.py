"""Property-based fuzzing of every input a user hands to mirimager (issue #6, item 3).

Recipes and lab configurations (TOML) and scan files (HDF5) are mutated by hypothesis:
unknown keys, wrong types, random units, out-of-range, NaN/inf and huge numbers, empty
lists, wrong kinds, raw text and bytes; truncated, bit-flipped and structurally altered
scan files. The properties:

* a bad input ends as *one line* naming the file (``RecipeError`` / ``ScanFileError``,
  exit status 2 from the CLI), never another exception or a traceback;
* reading a scan file (loaders, ``mirimager info``, ``mirimager reconstruct``) never
  modifies it.

Deterministic (``derandomize=True``, no example database). The bugs the fuzzers found are
pinned at the end of the file, reduced to minimal inputs (all fixed).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import faulthandler
import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import fields
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from imager.cli import main
from imager.cli.probe import probe_scan_file
from imager.labconfig import OPTIONAL_SECTIONS, SECTIONS, parse_lab_config
from imager.recipes import Recipe, RecipeError, load_recipe, parse_recipe
from imager.recipes.recipe import spectral_wavelengths
from imager.recipes.schema import COMMON_SECTIONS, KIND_SECTIONS, TOP_LEVEL, Field
from reconstruction import ScanFileError, load_raster
from reconstruction.calibration import Responsivity
from reconstruction.spectral.cube import load_cube
from reconstruction.spectral.singlepixel import load_spectral_single_pixel
from reconstruction.spifile import load_single_pixel, scan_kind

# Extreme numbers (1e308 readings...) make numpy warn about overflow on the way to a one-line
# error or a PNG drawn to scale: expected here, not a failure.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SCANS = Path(__file__).resolve().parents[2] / "scans"
RECIPE_FILES = ("usaf_raster", "single_pixel", "calibration", "chemical_chart")
BASE_TEXT = {name: (SCANS / f"{name}.toml").read_text(encoding="utf-8") for name in RECIPE_FILES}
SOURCE = "r.toml"

LAB_TEXT = """\
name = "mir-bench"
[stage_x]
driver = "apt"
serial_port = "/dev/ttyUSB0"
controller = "KDC101"
stage = "MTS25-Z8"
[stage_y]
driver = "apt"
serial_port = "/dev/ttyUSB1"
controller = "KDC101"
stage = "MTS25-Z8"
bay = 0
travel_min_um = 0
travel_max_um = "25 mm"
serial_read_timeout_s = "10 ms"
[lockin]
driver = "sr830"
address = "TCPIP::192.168.1.20::1865::SOCKET"
timeout_s = 2
[chopper]
driver = "mc2000b"
serial_port = "/dev/ttyUSB2"
[source]
driver = "manual"
max_power_mW = 100
[pump]
driver = "manual"
[projector]
driver = "alp4"
api_version = "4.3"
device_number = 12345
pixel_mirrors = 8
"""


# The example counts keep this file at about 40 s on a 2-core machine (a scan-file example
# runs three CLI commands: ~0.15 s). For a deeper search, scale them, e.g.
# MIRIMAGER_FUZZ_SCALE=10 python -m pytest tests/imager/test_fuzz.py (still deterministic).
FUZZ_SCALE = float(os.environ.get("MIRIMAGER_FUZZ_SCALE", "1"))


def fuzz(max_examples: int, *, fixtures: bool = False, shrink: bool = True) -> settings:
    """Deterministic hypothesis settings: fixed examples, no database, no deadline; the first
    failure found is reported (shrunk unless ``shrink=False``: for the scan-file fuzzers, whose
    examples are short edit lists anyway and each run costs up to 0.2 s)."""
    max_examples = max(1, round(max_examples * FUZZ_SCALE))
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    if fixtures:  # capsys (reset per call) and folders (a fresh subfolder per example)
        checks.append(HealthCheck.function_scoped_fixture)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    report_multiple_bugs=False, phases=phases, suppress_health_check=checks)


def assert_one_line(message: str, start: str) -> None:
    assert len(message.splitlines()) == 1, f"not one line: {message!r}"
    assert message.startswith(start), f"does not start with {start!r}: {message!r}"


# ============================================================== TOML documents

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(doc: dict) -> str:
    """A document as TOML: top-level values first, then one [table] per dict."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for name, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{toml_key(name)}]")
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


BASE_DOCS = {name: tomllib.loads(text) for name, text in BASE_TEXT.items()}
LAB_DOC = tomllib.loads(LAB_TEXT)

# ------------------------------------------------------------------ values

UNITS = ["nm", "um", "µm", "mm", "us", "µs", "ms", "s", "min", "Hz", "kHz", "nW", "uW", "µW",
         "mW", "W", "nV", "uV", "µV", "mV", "V", "deg"]
BAD_UNITS = ["furlongs", "furlong", "", "MM", "Um", "um2", "μm", "m", "km", "h", "K", "dB",
             "mm/s", "°", "e", "inf", "nan", "µ", "s s", "1", "ms ms"]
NAN, INF = float("nan"), float("inf")
SPECIAL_INTS = [0, 1, -1, 2, 3, 6, 7, 1023, 1025, 4096, 4097, 2**31 - 1, 2**31, 2**63 - 1, 2**63,
                -(2**63), 2**64, 10**400, -(10**400)]
SPECIAL_FLOATS = [0.0, -0.0, NAN, INF, -INF, 1e-300, 5e-324, 1e308, -1e308, 0.5, 1.5, 1e-4,
                  9.99e-5, 1.0000001, 2.5, 1e20]

NUMBER_TEXT = st.one_of(
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(["1e999", "-1e999", "1e-999", ".5", "5.", "+3", "-0", "1.5.3", "0x10",
                     "1_000", "", "-", "e5", "1e", "nan", "inf", "١٢", "1e400", "3"]),
)
QUANTITY_TEXT = st.builds(
    lambda number, sep, unit: f"{number}{sep}{unit}",
    NUMBER_TEXT,
    st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0"]),
    st.sampled_from(UNITS + BAD_UNITS),
)
WORDS = ["raster", "single_pixel", "calibration", "hadamard", "fourier", "random", "zigzag",
         "circular", "snake", "row", "usaf1951", "siemens_star", "open", "660", "ratio", "sr830",
         "sr860", "apt", "KDC101", "manual", "alp4", "4.3", "", " ", "12", "scan", "x\ny"]
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
NAMES = st.one_of(TEXT, st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
SCALARS = st.one_of(
    st.integers(),
    st.sampled_from(SPECIAL_INTS),
    st.floats(),
    st.sampled_from(SPECIAL_FLOATS),
    st.booleans(),
    TEXT,
    QUANTITY_TEXT,
    st.sampled_from(WORDS),
    st.dates(),
    st.datetimes(),
    st.times(),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(NAMES, children, max_size=3)),
    max_leaves=6,
)


def values_for(spec: Field | None) -> st.SearchStrategy:
    """Any value, biased to the edges of what ``spec`` allows (units, bounds, choices)."""
    if spec is None:
        return VALUES
    special: list = list(spec.choices or [])
    numbers: list = [0, -1, 0.5, 3, 6, 1023]
    for bound in (spec.lo, spec.hi):
        if bound is not None:
            numbers += [bound, -bound, bound * 2, bound - 1, bound + 1, bound / 1000,
                        math.nextafter(bound, -INF), math.nextafter(bound, INF)]
    numbers += [int(n) for n in numbers if math.isfinite(n)]
    numbers += [NAN, INF, -INF, 1e308, -1e308, 2**63, 10**400, -(10**400)]
    options = [VALUES, st.sampled_from(special or WORDS)]
    if spec.kind in ("float", "int", "int_list", "float_list"):
        as_number = st.sampled_from(numbers)
        options += [
            as_number,
            st.builds(lambda n, u: f"{n} {u}", as_number, st.sampled_from(UNITS + BAD_UNITS)),
        ]
        if spec.kind.endswith("_list"):
            options.append(st.lists(st.one_of(as_number, SCALARS), max_size=5))
    return st.one_of(*options)


@st.composite
def mutated_doc(draw, bases: dict[str, dict], schema: dict[str, dict[str, Field]],
                top: dict[str, Field]) -> dict:
    """A base document with 1-4 edits: keys set to odd values, deleted, or made up."""
    doc = copy.deepcopy(bases[draw(st.sampled_from(sorted(bases)))])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "set", "set", "delete", "top", "drop_top"]))
        if op in ("set", "delete"):
            section = draw(st.one_of(st.sampled_from(sorted(schema)), NAMES))
            known = schema.get(section, {})
            key = draw(st.one_of(st.sampled_from(sorted(known)), NAMES) if known else NAMES)
            table = doc.get(section)
            if not isinstance(table, dict):
                table = doc[section] = {}
            if op == "set":
                table[key] = draw(values_for(known.get(key)))
            else:
                table.pop(key, None)
        elif op == "top":
            key = draw(st.one_of(st.sampled_from(sorted(top) + sorted(schema)), NAMES))
            doc[key] = draw(values_for(top.get(key)))
        elif doc:
            del doc[draw(st.sampled_from(sorted(doc)))]
    return doc


ALL_RECIPE_SECTIONS: dict[str, dict[str, Field]] = {**COMMON_SECTIONS}
for _kind_sections in KIND_SECTIONS.values():
    ALL_RECIPE_SECTIONS.update(_kind_sections)
LAB_SCHEMA = {**SECTIONS, **OPTIONAL_SECTIONS}
LAB_TOP = {"name": Field("str", "lab")}

RECIPE_DOCS = mutated_doc(BASE_DOCS, ALL_RECIPE_SECTIONS, TOP_LEVEL)
LAB_DOCS = mutated_doc({"lab": LAB_DOC}, LAB_SCHEMA, LAB_TOP)


@st.composite
def one_field_edits(draw) -> str:
    """A valid recipe with exactly one schema key of its kind set to an edge-case value."""
    name = draw(st.sampled_from(RECIPE_FILES))
    doc = copy.deepcopy(BASE_DOCS[name])
    sections = {**KIND_SECTIONS[doc["kind"]], **COMMON_SECTIONS}
    section = draw(st.sampled_from(sorted(sections)))
    key = draw(st.sampled_from(sorted(sections[section])))
    doc.setdefault(section, {})[key] = draw(values_for(sections[section][key]))
    return to_toml(doc)


SPLICES = st.one_of(
    TEXT,
    st.sampled_from(['"', "'", "[", "]", "=", "\n", "#", "{", "}", ",", ".", "-", "1e999", "nan",
                     "[[scan]]", "\\", '"""', "x = 1\n", "\n[scan]\n", "\n[scan]\nnx = 4\n",
                     "\nkind = 'calibration'\n", "\r\n", "\x00", "\ufeff", "1" * 4400]),
)
LINE_KEYS = sorted({key for table in (*ALL_RECIPE_SECTIONS.values(), *LAB_SCHEMA.values(),
                                      TOP_LEVEL) for key in table})
LINE_VALUES = ["1" * 4301, "-" + "9" * 4400, str(10**400), "1e999", "nan", "-inf", "[]", "{}",
               "[1, [2]]", "{a = 1}", '"3 furlongs"', '"5 ms"', '"-1 s"', "1979-05-27",
               "07:32:00", "true", "0x7fffffffffffffff", "0b1", "0o7", '"""\nx"""', "'''\nx'''"]


@st.composite
def spliced(draw, texts: tuple[str, ...]) -> str:
    """A valid document with 1-4 random insertions, deletions or replacements of characters,
    or inserted whole lines (which leave the rest of the document valid)."""
    text = draw(st.sampled_from(texts))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "line"]))
        if op == "line":
            lines = text.splitlines(keepends=True)
            key = draw(st.one_of(st.sampled_from(LINE_KEYS), NAMES.map(toml_key)))
            value = draw(st.one_of(st.sampled_from(LINE_VALUES), SPLICES))
            lines.insert(draw(st.integers(0, len(lines))), f"{key} = {value}\n")
            text = "".join(lines)
            continue
        i = draw(st.integers(0, len(text)))
        j = min(len(text), i + draw(st.integers(0, 12)))
        chunk = "" if op == "delete" else draw(SPLICES)
        text = text[:i] + chunk + text[i if op == "insert" else j:]
    return text


RAW_TEXT = st.one_of(
    st.text(),
    st.binary(max_size=512).map(lambda b: b.decode("utf-8", errors="replace")),
    st.binary(max_size=512).map(lambda b: b.decode("latin-1")),
)

# ------------------------------------------------------------------ harness check


@pytest.mark.parametrize("name", RECIPE_FILES)
def test_toml_writer_round_trips(name):
    """The fuzzers write their documents with `to_toml`: it must be faithful."""
    text = to_toml(BASE_DOCS[name])
    assert tomllib.loads(text) == BASE_DOCS[name]
    assert parse_recipe(text, SOURCE).sections == parse_recipe(BASE_TEXT[name], SOURCE).sections
    assert parse_lab_config(to_toml(LAB_DOC))["stage_y"]["travel_max_um"] == 25000.0


# ============================================================== recipes


def check_recipe(text: str) -> None:
    try:
        recipe = parse_recipe(text, SOURCE)
    except RecipeError as exc:
        assert_one_line(str(exc), f"{SOURCE}: ")
        return
    assert isinstance(recipe, Recipe)
    assert recipe.kind in ("raster", "single_pixel", "calibration")
    if recipe.kind == "raster":  # what the engine asks of an accepted recipe
        assert recipe.grid.shape == (recipe.sections["scan"]["ny"], recipe.sections["scan"]["nx"])
    if recipe.kind in ("raster", "single_pixel"):
        dwell = recipe.dwell_s()
        assert math.isfinite(dwell) and dwell >= 0
        wavelengths = spectral_wavelengths(recipe)  # a spectral scan's, in the QCL's range
        assert all(6.8 <= w <= 8.6 for w in wavelengths)
        assert len(set(wavelengths)) == len(wavelengths)


@fuzz(500)
@given(RECIPE_DOCS)
def test_fuzz_recipe_mutations(doc):
    """Unknown keys and sections, wrong types, units and kinds: RecipeError (one line) or ok."""
    text = to_toml(doc)
    tomllib.loads(text)  # the harness writes valid TOML: the validator is what is fuzzed
    check_recipe(text)


@fuzz(400)
@given(one_field_edits())
def test_fuzz_recipe_field_edges(text):
    """Each schema key at its edges: bounds +-1 ulp, negative, NaN/inf, huge ints, units."""
    check_recipe(text)


@fuzz(300)
@given(st.one_of(spliced(tuple(BASE_TEXT.values())), RAW_TEXT))
def test_fuzz_recipe_raw_text(text):
    """Broken TOML, absurd literals and random text: RecipeError (one line) or ok."""
    check_recipe(text)


@fuzz(50, fixtures=True)
@given(st.binary(max_size=256))
def test_fuzz_load_recipe_bytes(tmp_path, data):
    """A recipe file of random bytes (also invalid UTF-8): RecipeError naming the file."""
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "r.toml"
    path.write_bytes(data)
    try:
        load_recipe(path)
    except RecipeError as exc:
        assert_one_line(str(exc), f"{path}: ")
    assert path.read_bytes() == data


# ============================================================== lab configurations


def check_lab(text: str) -> None:
    try:
        config = parse_lab_config(text, SOURCE)
    except RecipeError as exc:
        assert_one_line(str(exc), f"{SOURCE}: ")
        return
    assert set(SECTIONS) <= set(config)


@fuzz(400)
@given(LAB_DOCS)
def test_fuzz_lab_config_mutations(doc):
    text = to_toml(doc)
    tomllib.loads(text)
    check_lab(text)


@fuzz(150)
@given(st.one_of(spliced((LAB_TEXT,)), RAW_TEXT))
def test_fuzz_lab_config_raw_text(text):
    check_lab(text)


# ============================================================== scan files


@pytest.fixture(scope="module", autouse=True)
def _no_read_retries():
    """A corrupt file fails the same way on every attempt: skip ~0.5 s of retries per read.

    (The retries are for a file that a running writer is flushing; the final error is the
    same one-line ScanFileError.)
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("reconstruction.scanfile.READ_ATTEMPTS", 1)
        yield


class BaseFiles(dict):
    """``{"raster": bytes, "spi": bytes}``, with a short repr for hypothesis' reports."""

    def __repr__(self) -> str:
        return f"<scan files: {', '.join(f'{k} ({len(v)} bytes)' for k, v in self.items())}>"


@pytest.fixture(scope="module")
def scan_files(tmp_path_factory) -> BaseFiles:
    """A 6 x 6 simulated raster, an 8 x 8 Hadamard single-pixel scan, a 6 x 6 spectral
    raster of the chemical chart at 3 wavelengths, an 8 x 8 spectral single-pixel scan
    at 2 and an 8 x 8 adaptive single-pixel scan, as bytes."""
    folder = tmp_path_factory.mktemp("fuzz_base")
    raster, spi = folder / "s.h5", folder / "p.h5"
    assert main(["demo", "--size", "6", "-o", str(raster), "--no-progress"]) == 0
    recipe = folder / "spi.toml"
    text = (SCANS / "single_pixel.toml").read_text(encoding="utf-8")
    recipe.write_text(re.sub(r"(?m)^size = 64\b", "size = 8", text), encoding="utf-8")
    assert main(["scan", str(recipe), "-o", str(spi), "--no-progress"]) == 0
    assert load_single_pixel(spi).basis_spec["size"] == 8
    spectral, sspi = folder / "c.h5", folder / "q.h5"
    text = (SCANS / "chemical_chart.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^n([xy]) = 32\b", r"n\1 = 6", text)
    text = re.sub(r"(?m)^start_um = 6.8\n", "start_um = 6.85\n", text)
    text = re.sub(r"(?m)^step_um = 0.1\b", "step_um = 0.8", text)
    recipe.write_text(text, encoding="utf-8")
    assert main(["scan", str(recipe), "-o", str(spectral), "--no-progress"]) == 0
    recipe.write_text(re.sub(r"(?m)^size = 64\b", "size = 8", (SCANS / "single_pixel.toml")
                             .read_text(encoding="utf-8")) + "\n[spectral]\nwavelengths_um = "
                      "[7.0, 8.2]\n", encoding="utf-8")
    assert main(["scan", str(recipe), "-o", str(sspi), "--no-progress"]) == 0
    aspi = folder / "a.h5"  # adaptive: the coefficients in /entry/basis/index
    recipe.write_text(re.sub(r"(?m)^size = 64\b", "size = 8", (SCANS / "single_pixel.toml")
                             .read_text(encoding="utf-8")).replace('ordering = "zigzag"',
                                                                   'ordering = "adaptive"'),
                      encoding="utf-8")
    assert main(["scan", str(recipe), "-o", str(aspi), "--no-progress"]) == 0
    assert load_single_pixel(aspi).basis_spec["ordering"] == "adaptive"
    return BaseFiles(raster=raster.read_bytes(), spi=spi.read_bytes(),
                     spectral=spectral.read_bytes(), sspi=sspi.read_bytes(),
                     aspi=aspi.read_bytes())


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz_work")


_outputs = itertools.count()


def snapshot(path: Path) -> bytes | str | None:
    if path.is_file():
        return path.read_bytes()
    return "dir" if path.is_dir() else None


WATCHDOG_S = 60
WATCHDOG_LOG = Path(tempfile.gettempdir()) / f"mirimager-fuzz-watchdog-{os.getpid()}.log"


def check_scan_file(path: Path, out_dir: Path, capsys) -> None:
    """Loaders: result or a one-line ScanFileError naming the file. CLI (`info`, `info --json`,
    `reconstruct`): exit 0 or 2 with one line on stderr naming the file, no traceback. The file
    is left exactly as it was."""
    before = snapshot(path)
    # libhdf5 can loop forever on a corrupt file (test_hdf5_hang_on_zeroed_heap), where no
    # Python code can interrupt it: rather than hang the run, end it after WATCHDOG_S with every
    # thread's traceback in WATCHDOG_LOG (pytest's capture would swallow it on stderr).
    log = open(WATCHDOG_LOG, "w")  # closed, then removed, below
    try:
        log.write(f"mirimager fuzz watchdog: reading {path} took over {WATCHDOG_S} s\n")
        log.flush()
        faulthandler.dump_traceback_later(WATCHDOG_S, exit=True, file=log)
        try:
            _check_scan_file(path, out_dir, capsys)
        finally:
            faulthandler.cancel_dump_traceback_later()
    finally:
        log.close()
        WATCHDOG_LOG.unlink()
    assert snapshot(path) == before, "reading the file changed it"


def _check_scan_file(path: Path, out_dir: Path, capsys) -> None:
    try:  # the CLI's guard (a file that passed is not probed again by the commands below)
        probe_scan_file(path)
        loaders = (scan_kind, load_raster, load_single_pixel, load_cube,
                   load_spectral_single_pixel)
    except ScanFileError as exc:  # libhdf5 hangs on it: so would the loaders, unguarded
        assert_one_line(str(exc), f"{path}: the HDF5 library ")
        loaders = ()
    for loader in loaders:
        try:
            loader(path)
        except ScanFileError as exc:
            assert_one_line(str(exc), f"{path}: ")
    out = out_dir / f"out{next(_outputs)}"
    for argv in (["info", str(path)], ["info", "--json", str(path)],
                 ["reconstruct", str(path), "-o", str(out), "--no-store"]):
        capsys.readouterr()
        status = main(argv)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert status in (0, 2), (argv, status, err)
        if status == 2:
            assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
            assert_one_line(err, f"mirimager {argv[0]}: error: ")
            assert str(path) in err, f"does not name the file: {err!r}"


@pytest.mark.parametrize("kind", ["raster", "spi", "spectral", "sspi", "aspi"])
def test_base_files_read_cleanly(scan_files, work_dir, capsys, kind):
    """The fuzzers start from valid files: they load and the CLI succeeds on them."""
    path = work_dir / f"base_{kind}.h5"
    path.write_bytes(scan_files[kind])
    check_scan_file(path, work_dir, capsys)
    assert main(["reconstruct", str(path), "-o", str(work_dir / f"base_{kind}")]) == 0
    {"raster": load_raster, "spi": load_single_pixel, "spectral": load_cube,
     "sspi": load_spectral_single_pixel, "aspi": load_single_pixel}[kind](path)


# ------------------------------------------------------------------ byte-level corruption

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
BYTE_CORRUPTIONS = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 2**20)),
    st.tuples(st.just("truncate"), st.integers(0, 4096)),  # inside the header
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.integers(0, 4095), st.integers(1, 255)),
                                        min_size=1, max_size=4)),
    st.tuples(st.just("zero"), st.integers(0, 2**20), st.integers(1, 2048)),
    st.tuples(st.just("garbage"), st.binary(max_size=2048)),
    st.tuples(st.just("signature"), st.binary(max_size=2048)),
)


def corrupt(data: bytes, how: tuple) -> bytes:
    if how[0] == "truncate":
        return data[: how[1] % len(data)]
    if how[0] == "flip":
        buf = bytearray(data)
        for pos, mask in how[1]:
            buf[pos % len(buf)] ^= mask
        return bytes(buf)
    if how[0] == "zero":
        start = how[1] % len(data)
        return data[:start] + bytes(min(how[2], len(data) - start)) + data[start + how[2]:]
    if how[0] == "garbage":
        return how[1]
    return HDF5_SIGNATURE + how[1]  # "signature": looks like HDF5, is not


def zeroes_global_heap(data: bytes, how: tuple) -> bool:
    """Whether ``how`` zeroes bytes of a global heap collection, on which libhdf5 can loop
    forever (pinned by test_hdf5_hang_on_zeroed_heap). The harness survives that (it probes
    each file first, as the CLI does, and skips the unguarded loaders on a file that hangs),
    but each such example costs the probe's timeout four times (~20 s): kept out of the
    fuzzer for the run time. (A bit flip in a heap can hang too, more rarely.)"""
    if how[0] != "zero":
        return False
    start = how[1] % len(data)
    for match in re.finditer(b"GCOL", data):
        size = int.from_bytes(data[match.start() + 8: match.start() + 16], "little")
        if start < match.start() + size and start + how[2] > match.start():
            return True
    return False


@fuzz(80, fixtures=True, shrink=False)
@given(kind=st.sampled_from(["raster", "spi", "spectral", "sspi", "aspi"]),
       how=BYTE_CORRUPTIONS)
def test_fuzz_scan_file_bytes(scan_files, work_dir, capsys, kind, how):
    """Truncated, bit-flipped, zeroed and garbage files."""
    assume(not zeroes_global_heap(scan_files[kind], how))
    folder = Path(tempfile.mkdtemp(dir=work_dir))
    path = folder / "scan.h5"
    path.write_bytes(corrupt(scan_files[kind], how))
    check_scan_file(path, folder, capsys)
    shutil.rmtree(folder)


@pytest.mark.parametrize("what", ["empty", "directory", "missing", "recipe", "plain_hdf5",
                                  "calibration_kind"])
def test_special_scan_paths(work_dir, capsys, what):
    folder = Path(tempfile.mkdtemp(dir=work_dir))
    path = folder / "scan.h5"
    if what == "empty":
        path.write_bytes(b"")
    elif what == "directory":
        path.mkdir()
    elif what == "recipe":
        path.write_text(BASE_TEXT["usaf_raster"], encoding="utf-8")
    elif what == "plain_hdf5":
        with h5py.File(path, "w") as f:
            f["x"] = np.arange(3)
    elif what == "calibration_kind":
        with h5py.File(path, "w") as f:
            f.attrs["mirimager_format_version"] = 1
            f.create_group("entry").attrs["kind"] = "calibration"
    check_scan_file(path, folder, capsys)


# ------------------------------------------------------------------ structural edits

RESPONSIVITY_FIELDS = [f.name for f in fields(Responsivity)]
ATTR_TARGETS: dict[str, list[str]] = {
    "/": ["mirimager_format_version", "NX_class"],
    "/entry": ["kind", "exit_status", "error_message", "start_time", "end_time", "resumed"],
    "/entry/scan": ["nx", "ny", "order", "points_total", "dwell_s", "fov_um"],
    "/entry/data": ["signal", "axes"],
    "/entry/basis": ["kind", "size", "ordering", "ratio", "seed", "dither", "n_patterns",
                     "bogus"],
    "/entry/calibration": [*RESPONSIVITY_FIELDS, "NX_class"],
    "/entry/lab": ["kind", "seed"],
    "/entry/instrument/lockin": ["time_constant_s", "kind", b"\xffname"],
    "/entry/sample/chart": ["pixel_um", "x0_um", "y0_um", "name"],
    "/entry/recipe": ["format"],
}
SPECIAL_ATTRS: dict[str, list] = {
    "mirimager_format_version": [2, "2", "1", 1.0, 1.5, 0, -1, True, b"1", NAN, INF,
                                 np.array([1, 1])],
    "kind": ["raster", "single_pixel", "calibration", "hadamard", "fourier", "random", "",
             b"raster", 3],
    "size": [8, 6, 7, 0, -8, 1, 16, 2**40, 8.0, 8.5, NAN, INF, "8", "abc"],
    "ratio": [0.25, 0.0, -0.25, 1.0, 1.5, NAN, INF, "0.25"],
    "seed": [0, -1, NAN, INF, 2**62, "x", 1.5],
    "ordering": ["zigzag", "natural", "random", "circular", "diamond", "bogus", 3],
    "dither": ["floyd-steinberg", "bogus", 1],
    "nx": [6, 5, 7, 0, -1, 1, 2**62, NAN, INF, 6.5, "6", "six"],
    "ny": [6, 5, 7, 0, -1, 1, 2**62, NAN, INF, 6.5, "6", "six"],
    "order": ["snake", "row", "spiral", 1],
    "points_total": [36, 0, -1, 2**62, NAN, "x"],
    "n_levels": [7, 0, NAN, INF, "x"],
}
ATTR_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(),
    st.booleans(),
    TEXT,
    st.binary(max_size=10),
    st.sampled_from(WORDS + SPECIAL_FLOATS),
    hnp.arrays(st.sampled_from([np.float64, np.int64, np.bool_, "S3"]),
               hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=3)),
)
NODES = ["/entry", "/entry/scan", "/entry/scan/points", "/entry/data", "/entry/data/X_V",
         "/entry/data/x_um", "/entry/data/y_um", "/entry/data/truth", "/entry/data/pattern",
         "/entry/basis", "/entry/sample", "/entry/sample/chart", "/entry/recipe",
         "/entry/instrument", "/entry/instrument/lockin", "/entry/lab", "/entry/calibration",
         "/entry/program_name"]
DATASET_VALUES = st.one_of(
    hnp.arrays(st.sampled_from([np.float64, np.float32, np.int32, np.uint8, np.bool_, "S4"]),
               hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=9)),
    TEXT,
    st.binary(max_size=16),
    st.integers(-(2**63), 2**63 - 1),
)
POINT_FIELDS = ["index", "ix", "iy", "x_set_um", "y_set_um", "x_um", "y_um", "X_V", "Y_V",
                "status", "t_lab_s", "t_wall_s", "done"]
POINT_VALUES = st.one_of(st.integers(-3, 12), st.sampled_from([2**31 - 1, -(2**31), 255]),
                         st.floats(), st.booleans())
GOOD_RESPONSIVITY = {"slope_V_per_W_per_um2": 2.0e3, "slope_err_V_per_W_per_um2": 10.0,
                     "offset_V": 1e-6, "offset_err_V": 1e-8, "noise_V": 1e-6,
                     "nei_W_per_um2": 5e-10, "r_squared": 0.99, "n_levels": 7}


def _attr_edit(target: str) -> st.SearchStrategy:
    names = ATTR_TARGETS[target]
    return st.sampled_from(names).flatmap(lambda name: st.one_of(
        st.tuples(st.just("del_attr"), st.just(target), st.just(name)),
        st.tuples(st.just("set_attr"), st.just(target), st.just(name),
                  st.one_of(st.sampled_from(SPECIAL_ATTRS.get(name, [0])), ATTR_VALUES)),
    ))


EDITS = st.one_of(
    st.sampled_from(sorted(ATTR_TARGETS)).flatmap(_attr_edit),
    st.tuples(st.just("delete"), st.sampled_from(NODES)),
    st.tuples(st.just("replace"), st.sampled_from(NODES), DATASET_VALUES),
    st.tuples(st.just("as_group"), st.sampled_from(NODES)),
    st.tuples(st.just("new_group"), st.sampled_from(["/entry", "/entry/instrument", "/entry/data"]),
              st.sampled_from([b"\xffname", "extra", "lab", "calibration"])),
    st.tuples(st.just("link"), st.sampled_from([*NODES, "/entry/instrument/ghost", "/entry/ghost"]),
              st.sampled_from(["/nowhere", "/entry", "/entry/data/X_V", "/entry/scan/points",
                               "external"])),
    st.tuples(st.just("axis_length"), st.sampled_from(["x_um", "y_um", "X_V", "truth"]),
              st.integers(-8, 3)),
    st.tuples(st.just("points_set"), st.sampled_from(POINT_FIELDS),
              st.lists(st.tuples(st.integers(0, 63), POINT_VALUES), min_size=1, max_size=6)),
    st.tuples(st.just("points_drop"), st.lists(st.sampled_from(POINT_FIELDS), min_size=1,
                                               max_size=3, unique=True)),
    st.tuples(st.just("points_length"), st.integers(0, 80)),
    st.tuples(st.just("calibration"), st.dictionaries(
        st.sampled_from(RESPONSIVITY_FIELDS),
        st.one_of(st.sampled_from([0.0, -1.0, NAN, INF, "x", 2**62]), st.floats()),
        max_size=3), st.lists(st.sampled_from(RESPONSIVITY_FIELDS), max_size=2)),
)


def _replace(f: h5py.File, name: str, value) -> None:
    with contextlib.suppress(KeyError):  # (`name in f` is False for a dangling link)
        del f[name]
    f.require_group(name.rsplit("/", 1)[0] or "/")
    f[name] = value


def apply_edit(f: h5py.File, edit: tuple) -> None:
    op = edit[0]
    if op == "del_attr":
        del f[edit[1]].attrs[edit[2]]
    elif op == "set_attr":
        f[edit[1]].attrs[edit[2]] = edit[3]
    elif op == "delete":
        del f[edit[1]]
    elif op == "replace":
        _replace(f, edit[1], edit[2])
    elif op == "as_group":
        del f[edit[1]]
        f.create_group(edit[1])
    elif op == "new_group":
        f[edit[1]].create_group(edit[2])
    elif op == "link":  # a soft link (dangling, or to another node) or a link to a missing file
        target = edit[2]
        _replace(f, edit[1], h5py.ExternalLink("missing.h5", "/entry") if target == "external"
                 else h5py.SoftLink(target))
    elif op == "axis_length":
        old = np.asarray(f[f"/entry/data/{edit[1]}"][...], dtype=float)
        n = max(0, len(old) + edit[2]) if old.ndim else 0
        _replace(f, f"/entry/data/{edit[1]}", np.resize(old, (n, *old.shape[1:])))
    elif op.startswith("points"):
        records = f["/entry/scan/points"][...]
        if op == "points_set" and len(records):
            for i, value in edit[2]:
                records[edit[1]][i % len(records)] = value
        elif op == "points_drop":
            keep = [n for n in records.dtype.names if n not in edit[1]]
            records = records[keep] if keep else np.zeros(len(records))
        elif op == "points_length":
            records = np.resize(records, edit[1])
        _replace(f, "/entry/scan/points", records)
    elif op == "calibration":
        group = f["/entry"].require_group("calibration")
        for key, value in {**GOOD_RESPONSIVITY, **edit[1]}.items():
            group.attrs[key] = value
        for key in edit[2]:
            del group.attrs[key]


def edited_copy(data: bytes, edits: list[tuple], path: Path, strict: bool = False) -> None:
    path.write_bytes(data)
    with h5py.File(path, "r+") as f:
        for edit in edits:
            try:
                apply_edit(f, edit)
            except (KeyError, ValueError, TypeError, OSError, RuntimeError, IndexError,
                    OverflowError, AttributeError):
                if strict:
                    raise
                # else not applicable here (node already gone, value h5py cannot store...)


@fuzz(80, fixtures=True, shrink=False)
@given(kind=st.sampled_from(["raster", "spi"]), edits=st.lists(EDITS, min_size=1, max_size=4))
def test_fuzz_scan_file_structure(scan_files, work_dir, capsys, kind, edits):
    """HDF5 files with attributes, groups, datasets and links removed, retyped or reshaped."""
    folder = Path(tempfile.mkdtemp(dir=work_dir))
    path = folder / "scan.h5"
    edited_copy(scan_files[kind], edits, path)
    check_scan_file(path, folder, capsys)
    shutil.rmtree(folder)


# ============================================================== found by the fuzzers
# Each case below is a bug the fuzzers above found, reduced to a minimal input. Each asserts
# the correct behaviour: the recipe ones are fixed since e17c420, the scan-file ones since the
# fuzz suite left tests/pending/ (issue 6).


@pytest.mark.parametrize("text", [
    f"[scan]\nx_start_um = {10**400}\n",
    f'kind = "calibration"\n[calibration]\nmir_power_mW = [0, 5, {10**400}]\n',
    f"[scan]\nnx = {'1' * 4301}\n",
], ids=["float-key", "float-list", "4301-digits"])
def test_found_recipe_huge_integers(text):
    # Fixed in e17c420: an integer too large for a float raised OverflowError from
    # units.parse_quantity, a literal of more than 4300 digits a plain ValueError from tomllib
    # (both tracebacks from `mirimager scan`).
    check_recipe(text)


@pytest.mark.parametrize("value", [str(10**400), "1" * 4301])
def test_found_lab_config_huge_integers(value):
    # Fixed in e17c420 (the same code as recipes).
    check_lab(LAB_TEXT.replace("max_power_mW = 100", f"max_power_mW = {value}"))


KNOWN_BAD_FILES = [
    # Was: a stored calibration (/entry/calibration) lacking a key or with a non-number made
    # responsivity_from_attrs raise ValueError in cli/files.py _calibrated, outside any
    # user-error handling: `mirimager reconstruct` showed a traceback. Now every field is
    # checked (a number; slope and offset finite, slope not 0) and the CLI names file and field.
    pytest.param("raster", [("calibration", {}, ["slope_V_per_W_per_um2"])],
                 id="calibration-missing-key"),
    pytest.param("raster", [("calibration", {"offset_V": "x"}, [])],
                 id="calibration-not-a-number"),
    pytest.param("raster", [("calibration", {"slope_V_per_W_per_um2": 0.0}, [])],
                 id="calibration-zero-slope"),
    pytest.param("raster", [("calibration", {"n_levels": NAN}, [])],
                 id="calibration-nan-levels"),
    # Was: non-UTF-8 bytes in a string attribute: h5py returns a str with surrogate escapes
    # ('\udc80') and `mirimager info` died printing it (UnicodeEncodeError) wherever stdout is
    # strict UTF-8 (capsys; PYTHONIOENCODING=utf-8; en_US.UTF-8 locales). Now shown as "\x80".
    pytest.param("raster", [("set_attr", "/entry", "exit_status", b"\x80")],
                 id="non-utf8-attribute"),
    # Was: a name that is not UTF-8 (an attribute of an instrument, or an instrument group)
    # comes back from h5py as bytes: `mirimager info` sorted str and bytes together (TypeError
    # in cmd_info), `mirimager info --json` could not serialise a bytes key (TypeError).
    # (The byte fuzzer reached it with bit flips in the single-pixel file.) Now "\xffname".
    pytest.param("raster", [("set_attr", "/entry/instrument/lockin", b"\xffname", 1.0)],
                 id="non-utf8-attribute-name"),
    pytest.param("raster", [("new_group", "/entry/instrument", b"\xffname")],
                 id="non-utf8-group-name"),
    # Was: load_single_pixel did not check /entry/data/x_um, y_um against the basis size:
    # empty -> IndexError, scalar -> TypeError in `mirimager info`; one value too many ->
    # ValueError ("axes do not match the image") from save_png in `mirimager reconstruct`.
    # Now both loaders check their axes (1-D, length, finite, strictly monotonic).
    pytest.param("spi", [("axis_length", "x_um", -8)], id="spi-empty-x-axis"),
    pytest.param("spi", [("replace", "/entry/data/x_um", 0.0)], id="spi-scalar-x-axis"),
    pytest.param("spi", [("axis_length", "x_um", 1)], id="spi-x-axis-too-long"),
    pytest.param("spi", [("replace", "/entry/data/y_um", np.array([0, 1, 2, 3, 3, 5, 6, 7.0]))],
                 id="spi-y-axis-not-monotonic"),
    pytest.param("raster", [("replace", "/entry/data/x_um", np.array([0, 1, NAN, 3, 4, 5]))],
                 id="raster-x-axis-nan"),
    # Was (minor): nor /entry/data/truth: `mirimager reconstruct` exited 2 with one line, but
    # the line ("image has shape (8, 8), reference (9, 8)") did not name the file.
    pytest.param("spi", [("axis_length", "truth", 1)], id="spi-truth-wrong-shape"),
    # Was: an extreme reading (-1.8e308 V): matplotlib raised ValueError ("arange: cannot
    # compute length") in save_png: `mirimager reconstruct` showed a traceback. Now the colour
    # bar shows the values divided by a power of ten.
    pytest.param("raster", [("points_set", "X_V", [(0, -1.7976931348623157e308)])],
                 id="extreme-reading"),
    pytest.param("raster", [("points_set", "X_V", [(0, -1.7e308), (1, 1.7e308)])],
                 id="extreme-readings-both-signs"),
    # Was: a dangling soft link in /entry/instrument: h5py's Group.items() yields (name, None),
    # scanfile._settings -> _attrs_no_class(None) raised AttributeError, which read_scan_file
    # did not turn into a ScanFileError: load_raster, load_single_pixel and the CLI showed a
    # traceback. (The byte fuzzer reached it by zeroing 8 bytes of a raster file.)
    pytest.param("raster", [("link", "/entry/instrument/ghost", "/nowhere")],
                 id="dangling-link"),
    pytest.param("spi", [("link", "/entry/instrument/ghost", "/nowhere")],
                 id="spi-dangling-link"),
    # Was: a points_total or nx that is not a whole number ("x", NaN, inf) escaped as
    # ValueError/OverflowError from int().
    pytest.param("raster", [("set_attr", "/entry/scan", "points_total", "x")],
                 id="points-total-not-a-number"),
    pytest.param("raster", [("set_attr", "/entry/scan", "nx", INF)], id="nx-infinite"),
]


@pytest.mark.parametrize(("kind", "edits"), KNOWN_BAD_FILES)
def test_found_bad_files(scan_files, work_dir, capsys, kind, edits):
    folder = Path(tempfile.mkdtemp(dir=work_dir))
    path = folder / "scan.h5"
    edited_copy(scan_files[kind], edits, path, strict=True)
    check_scan_file(path, folder, capsys)


@pytest.fixture(scope="module")
def stopped_files(scan_files) -> BaseFiles:
    """The base files as if stopped half-way (the second half of the points not done)."""
    out = BaseFiles()
    with tempfile.TemporaryDirectory() as folder:
        for kind, data in scan_files.items():
            path = Path(folder) / f"{kind}.h5"
            path.write_bytes(data)
            with h5py.File(path, "r+") as f:
                f["entry"].attrs["exit_status"] = "abort"
                records = f["entry/scan/points"][...]
                records["done"][len(records) // 2:] = 0
                records["X_V"][len(records) // 2:] = NAN
                f["entry/scan/points"][...] = records
            out[kind] = path.read_bytes()
    return out


@pytest.mark.parametrize(("kind", "edits"), [
    pytest.param("raster", [("points_drop", ["index"])], id="raster-points-field-missing"),
    pytest.param("spi", [("points_drop", ["t_lab_s"])], id="spi-points-field-missing"),
    pytest.param("raster", [("axis_length", "X_V", 1)], id="raster-image-wrong-shape"),
    pytest.param("spi", [("replace", "/entry/data/X_V", 346)], id="spi-readings-scalar"),
    pytest.param("raster", [("set_attr", "/entry/lab", "seed", "x")], id="seed-not-a-number"),
    pytest.param("raster", [("del_attr", "/entry", "exit_status")], id="no-exit-status"),
    pytest.param("spi", [("set_attr", "/entry", "resumed", "{")], id="resumed-not-json"),
    pytest.param("raster", [("points_set", "t_lab_s", [(17, NAN)])], id="last-point-time-nan"),
])
def test_found_resume_bad_files(stopped_files, work_dir, capsys, kind, edits):
    # Was: `mirimager resume` reopened such files for writing and failed inside the writer
    # (ValueError, KeyError, OSError...: a traceback, the file already marked "running").
    # Now the file is checked before anything is written: one line, the file untouched.
    path = Path(tempfile.mkdtemp(dir=work_dir)) / "scan.h5"
    edited_copy(stopped_files[kind], edits, path, strict=True)
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["resume", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert_one_line(err, f"mirimager resume: error: {path}: ")
    assert path.read_bytes() == before


def test_stopped_file_resumes(stopped_files, work_dir):
    path = Path(tempfile.mkdtemp(dir=work_dir)) / "scan.h5"
    path.write_bytes(stopped_files["raster"])
    assert main(["resume", str(path), "--no-progress"]) == 0
    assert load_raster(path).complete


# Bound on each command (~1 s to start + the probe's 2-5 s when idle): generous, since the six
# commands run at once, each hung child spins a core, and the machine may be busy besides.
HANG_TIMEOUT_S = 120


def _zeroed_heap(data: bytes) -> bytes:
    """The file with the first object of its global heap (the 16 bytes after the b"GCOL"
    collection header) zeroed."""
    heap = data.index(b"GCOL")
    return data[: heap + 16] + bytes(16) + data[heap + 32:]


def _flipped_heap_size(data: bytes) -> bytes:
    """The file with one bit flip in the size of its global heap collection (0x1000 ->
    0x9a00), as the byte fuzzer drew it in a random run."""
    heap = data.index(b"GCOL")
    return data[: heap + 9] + bytes([data[heap + 9] ^ 0x8A]) + data[heap + 10:]


@pytest.mark.slow
def test_hdf5_hang_on_zeroed_heap(scan_files, work_dir):
    # Upstream bug (libhdf5 2.0.0 under h5py 3.16): with the first object header of the
    # global heap zeroed, or its collection size bit-flipped, reading /entry's string
    # attributes never returns (100 % CPU, in C code nothing in Python can interrupt). Found
    # by the byte fuzzer (286 bytes zeroed at offset 4340 of the single-pixel file; a flip at
    # 2057 in a random run). Guard: the commands that open a user's file first read it in a
    # short-lived child process (imager/cli/probe.py) and give up after a few seconds
    # with one line. The commands run as subprocesses (in parallel), so that a regression
    # fails this test instead of blocking the run.
    folder = Path(tempfile.mkdtemp(dir=work_dir))
    files = {"spi.h5": _zeroed_heap(scan_files["spi"]),
             "raster.h5": _flipped_heap_size(scan_files["raster"])}
    runs = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        commands = [["info", str(path)]]
        if name == "spi.h5":
            commands += [["info", "--json", str(path)],
                         ["reconstruct", str(path), "-o", str(folder / "out"), "--no-store"],
                         ["resume", str(path), "--no-progress"]]
        for argv in commands:
            # `info` of the single-pixel file with the default probe timeout, the others
            # with a shorter one (each hung child spins a core until it is killed)
            env = dict(os.environ)
            if (name, argv[0], len(argv)) != ("spi.h5", "info", 2):
                env["MIRIMAGER_PROBE_TIMEOUT_S"] = "2"
            runs[(name, *argv[:-1])] = (path, subprocess.Popen(
                [sys.executable, "-m", "imager", *argv], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, env=env))
    for key, (path, proc) in runs.items():
        try:
            _, err = proc.communicate(timeout=HANG_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            for _, other in runs.values():
                other.kill()
            pytest.fail(f"mirimager {' '.join(key[1:])}: still reading {path.name} after "
                        f"{HANG_TIMEOUT_S} s")
        assert proc.returncode == 2, (key, err)
        assert_one_line(err, f"mirimager {key[1]}: error: {path}: the HDF5 library hangs ")
    for name, data in files.items():  # never modified (also not by `resume`)
        assert (folder / name).read_bytes() == data
    assert not (folder / "out.png").exists()
    if sys.platform.startswith("linux"):  # the hung children were killed, not orphaned
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError):
                assert str(folder).encode() not in cmdline.read_bytes(), cmdline
