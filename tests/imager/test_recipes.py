from pathlib import Path

import pytest

from imager.recipes import RecipeError, default_recipe, load_recipe, parse_recipe
from imager.recipes.units import parse_quantity

SCANS = Path(__file__).resolve().parents[2] / "scans"


@pytest.mark.parametrize("path", sorted(SCANS.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_recipes_are_valid(path):
    recipe = load_recipe(path)
    if recipe.kind == "raster":
        assert recipe.grid.n_points >= 1
        assert recipe.dwell_s() >= 0
    elif recipe.kind == "single_pixel":
        assert recipe.dwell_s() > 0
    else:
        assert recipe.kind == "calibration"
        assert 0.0 in recipe.sections["calibration"]["mir_power_mW"]


def test_defaults_fill_missing_keys():
    recipe = parse_recipe('kind = "raster"\n[scan]\nnx = 8\nny = 4\n')
    assert recipe.grid.shape == (4, 8)
    assert recipe.sections["lockin"]["time_constant_s"] == pytest.approx(0.03)
    assert recipe.dwell_s() == pytest.approx(10 * 0.03)


def test_quantities_with_units_are_converted():
    recipe = parse_recipe('[scan]\nx_start_um = "12.3 mm"\ndwell_s = "300 ms"\n'
                          '[source]\npower_mW = "0.05 W"\n')
    assert recipe.sections["scan"]["x_start_um"] == pytest.approx(12300.0)
    assert recipe.dwell_s() == pytest.approx(0.3)
    assert recipe.sections["source"]["power_mW"] == pytest.approx(50.0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[scan]\nnx = -3\n", "[scan] nx: must be an integer in [1, 4096], got -3"),
        ("[scan]\nnx = 'many'\n", "[scan] nx: must be an integer"),
        ("[scan]\ndwell_s = -0.1\n", "[scan] dwell_s: must be in [0, 3600] s, got -0.1"),
        ("[scan]\ndwell_ms = 3\n", "[scan] unknown key 'dwell_ms'"),
        ("[scan]\nx_start_um = '3 ms'\n",
         "[scan] x_start_um: unit 'ms' is a time, expected a length"),
        ("[scan]\nx_start_um = '3 furlongs'\n", "[scan] x_start_um: unknown unit 'furlongs'"),
        ("[lockin]\nfilter_slope_dB_per_oct = 9\n",
         "filter_slope_dB_per_oct: must be one of 6, 12"),
        ("[source]\npower_mW = 900\n", "[source] power_mW: must be in [0, 500] mW, got 900"),
        ("[source]\nwavelength_um = 5.0\n", "[source] wavelength_um: must be in [6.8, 8.6] um"),
        ("colour = 'red'\n", "unknown key 'colour'"),
        ("[scan]\ndwell_s = 0.1\ndwell_tc = 5\n", "give one of them, not both"),
        ("[scan]\nnx = 4\nx_start_um = 5.0\nx_stop_um = 5.0\n", "x_stop_um: must differ"),
        ("[scan\n", "not valid TOML"),
        ("scan = 3\n", "[scan] must be a table"),
        ("[sim]\nnoise = 'yes'\n", "[sim] noise: must be true or false"),
        ("[sim]\nusaf_groups = [5, 'x']\n", "[sim] usaf_groups[1]: must be an integer"),
        ("[scan]\nx_start_um = nan\n", "[scan] x_start_um: must be a finite number"),
    ],
)
def test_bad_recipes_give_one_line_errors_naming_the_field(text, expected):
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, "r.toml")
    message = str(info.value)
    assert message.startswith("r.toml: ")
    assert expected in message
    assert "\n" not in message


def test_missing_recipe_file(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.toml")


def test_default_recipe_overrides():
    recipe = default_recipe(scan={"nx": 16, "ny": 8, "order": "row"},
                            lockin={"time_constant_s": 0.1})
    assert recipe.grid.shape == (8, 16) and recipe.grid.order == "row"
    assert recipe.dwell_s() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "value, unit, expected",
    [(5, "um", 5.0), ("2 mm", "um", 2000.0), ("250 nm", "um", 0.25), ("1.5e-3 s", "ms", 1.5),
     ("1 kHz", "Hz", 1000.0), ("20 µW", "mW", 0.02), ("-3 deg", "deg", -3.0)],
)
def test_parse_quantity(value, unit, expected):
    assert parse_quantity(value, unit) == pytest.approx(expected)


@pytest.mark.parametrize("value", [True, None, "mm", "1 2 mm", [1]])
def test_parse_quantity_rejects(value):
    with pytest.raises(ValueError):
        parse_quantity(value, "um")


def test_calibration_recipe_lists_take_units():
    recipe = parse_recipe('kind = "calibration"\n[calibration]\n'
                          'mir_power_mW = [0, "10 mW", "0.02 W"]\ntemperature_K = [300, 320]\n')
    cal = recipe.sections["calibration"]
    assert cal["mir_power_mW"] == [0.0, 10.0, 20.0]
    assert cal["temperature_K"] == [300.0, 320.0] and cal["pump_power_mW"] == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ('kind = "calibration"\n[scan]\nnx = 3\n', "[scan] belongs to kind = 'raster' recipes"),
        ("[calibration]\nrepeats = 3\n", "[calibration] belongs to kind = 'calibration'"),
        ('kind = "calibration"\n[calibration]\nmir_power_mW = [1, 2, 3]\n', "needs 0"),
        ('kind = "calibration"\n[calibration]\nmir_power_mW = [0, "3 ms", 3]\n',
         "mir_power_mW[1]: unit 'ms' is a time, expected a power (mW)"),
        ('kind = "calibration"\n[calibration]\nmir_power_mW = [0, 5, 600]\n',
         "mir_power_mW[2]: must be in [0, 500] mW"),
        ('kind = "calibration"\n[calibration]\nrepeats = 1\n', "repeats: must be an integer in [2"),
        ('kind = "tomography"\n', "kind: must be one of 'raster', 'single_pixel', 'calibration'"),
    ],
)
def test_bad_calibration_recipes(text, expected):
    with pytest.raises(RecipeError, match=None) as info:
        parse_recipe(text, "c.toml")
    assert expected in str(info.value)


@pytest.mark.parametrize("digits", [400, 5000])
def test_absurdly_large_numbers_are_one_line_errors(digits):
    text = "[chopper]\nfrequency_Hz = 1" + "0" * digits + "\n"
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, "r.toml")
    assert "\n" not in str(info.value) and str(info.value).startswith("r.toml: ")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "empty recipe (nothing but comments or blanks): a recipe names its kind"),
        ("# my scan, to be written\n\n   \n", "empty recipe (nothing but comments"),
        ('name = "x"\n[lockin]\ntime_constant_s = 0.1\n',
         "[scan] missing or empty: a raster recipe needs a [scan] table with at least one key"),
        ('kind = "raster"\n[scan]\n# nx = 8\n', "[scan] missing or empty"),
        ('kind = "single_pixel"\n[single_pixel]\n',
         "[single_pixel] missing or empty: a single_pixel recipe needs a [single_pixel] table"),
        ('kind = "calibration"\nname = "c"\n', "[calibration] missing or empty"),
    ],
)
def test_a_recipe_file_must_say_what_it_scans(tmp_path, text, expected):
    """An empty or comment-only file is not the default scan: one line naming the file."""
    path = tmp_path / "r.toml"
    path.write_text(text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {expected}"), message
    assert "\n" not in message


def test_one_key_in_the_kinds_table_is_enough(tmp_path):
    """The rule asks for the kind's table with one key, not every key (defaults fill in);
    the same text without that key is refused."""
    for text, kind in (("[scan]\nnx = 4\n", "raster"),
                       ('kind = "single_pixel"\n[single_pixel]\nsize = 8\n', "single_pixel"),
                       ('kind = "calibration"\n[calibration]\nrepeats = 5\n', "calibration")):
        path = tmp_path / f"{kind}.toml"
        path.write_text(text)
        assert load_recipe(path).kind == kind
        path.write_text(text.rsplit("\n", 2)[0] + "\n")  # drop the one key
        with pytest.raises(RecipeError, match="missing or empty"):
            load_recipe(path)
    assert default_recipe().grid.shape == (128, 128)  # built in code: no file, no rule


OVERRIDDEN = ('# my scan\nname = "mine"\n[scan]\nnx = 4  # four columns\nny = 3\n'
              '[sim]\n# the chart\nchart = "open"\nseed = 3   # lucky\n')


def test_overrides_are_validated_and_written_into_the_text():
    recipe = parse_recipe(OVERRIDDEN, "mine.toml")
    seeded = recipe.with_overrides("--seed", sim={"seed": 7}, lockin={"time_constant_s": 0.1})
    assert seeded.sections["sim"]["seed"] == 7
    assert seeded.sections["lockin"]["time_constant_s"] == 0.1
    again = parse_recipe(seeded.text, "stored")
    assert again.sections == seeded.sections  # the stored text says what ran
    assert "# my scan" in seeded.text and "# four columns" in seeded.text  # comments kept
    assert "seed = 7  # --seed; was: seed = 3   # lucky" in seeded.text
    assert "[lockin]\ntime_constant_s = 0.1  # --seed" in seeded.text  # a table added
    assert recipe.sections["sim"]["seed"] == 3 and recipe.text == OVERRIDDEN  # unchanged
    assert seeded.source == "mine.toml" and seeded.name == "mine"


@pytest.mark.parametrize("sections, message", [
    ({"sim": {"seed": -1}}, r"mine.toml: \[sim\] seed: must be an integer in \[0, "),
    ({"sim": {"seeds": 1}}, r"mine.toml: \[sim\] unknown key 'seeds'"),
    ({"scan": {"nx": 0}}, r"mine.toml: \[scan\] nx: must be an integer in \[1, 4096\]"),
])
def test_a_bad_override_is_a_one_line_error(sections, message):
    with pytest.raises(RecipeError, match=message) as info:
        parse_recipe(OVERRIDDEN, "mine.toml").with_overrides("--x", **sections)
    assert "\n" not in str(info.value)


def test_overrides_of_tables_written_with_dotted_keys_rewrite_the_text():
    recipe = parse_recipe('name = "dotted"\nsim.seed = 3\nsim.chart = "open"\n[scan]\nnx = 2\n',
                          "d.toml")
    seeded = recipe.with_overrides("--seed", sim={"seed": 9})
    assert seeded.sections["sim"]["seed"] == 9 and seeded.sections["sim"]["chart"] == "open"
    assert parse_recipe(seeded.text).sections == seeded.sections
    assert seeded.text.startswith("# d.toml with --seed (rewritten: its comments are not kept)")
