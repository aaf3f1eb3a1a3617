import pytest

from stages.apt.models import (
    CONTROLLER_MODELS,
    FAMILIES,
    KDC_STAGE_IDS,
    STAGE_MODELS,
    controller_model,
    stage_model,
)


def test_z8_on_kdc101_matches_the_protocol_doc_factors():
    z8 = stage_model("MTS25-Z8", controller_model("KDC101"))
    assert z8.counts_per_mm == pytest.approx(512 * 67.49016, rel=1e-7)
    dc = FAMILIES["dc_servo"]
    # APT protocol doc, Z8xx on KDC101: 772981.3692 per mm/s, 263.8443072 per mm/s^2
    assert z8.counts_per_mm * dc.velocity_factor == pytest.approx(772981.3692, rel=1e-8)
    assert z8.counts_per_mm * dc.acceleration_factor == pytest.approx(263.8443072, rel=1e-8)
    assert dc.velocity_to_apt(1000.0, z8.counts_per_um) == 772981
    assert dc.acceleration_to_apt(1000.0, z8.counts_per_um) == 264


def test_stepper_factors_match_the_drv250_numbers_of_thorlabs_apt_device():
    nrt = stage_model("NRT100", controller_model("BSC202"))
    st = FAMILIES["stepper"]
    # thorlabs-apt-device BSC201_DRV250 docstring: 409600 usteps/mm, 21987328, 4506
    assert st.velocity_to_apt(1000.0, nrt.counts_per_um) == 21987328
    assert st.acceleration_to_apt(1000.0, nrt.counts_per_um) == 4506


def test_brushless_factors_use_102_4_us():
    mls = stage_model("MLS203-X", controller_model("BBD202"))
    bbd = FAMILIES["brushless_dc"]
    assert mls.counts_per_mm * bbd.velocity_factor == pytest.approx(20000 * 102.4e-6 * 65536)
    assert mls.counts_per_mm * bbd.acceleration_factor == pytest.approx(
        20000 * 102.4e-6**2 * 65536)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_velocity_and_acceleration_round_trip(family):
    f, cpu = FAMILIES[family], 34.55496
    assert f.velocity_from_apt(f.velocity_to_apt(2300.0, cpu), cpu) == pytest.approx(2300.0,
                                                                                     rel=1e-5)
    acc_apt = f.acceleration_to_apt(1500.0, cpu)  # integer: coarse for brushless units
    assert f.acceleration_from_apt(acc_apt, cpu) == pytest.approx(1500.0, rel=0.5 / acc_apt)
    assert f.acceleration_to_apt(1e-9, cpu) == 1  # a positive request never becomes 0


def test_every_stage_names_a_source_and_known_families():
    for s in STAGE_MODELS.values():
        assert s.source and s.counts_per_mm > 0 and s.travel_mm > 0
        assert set(s.families) <= set(FAMILIES)
        assert s.travel_um == (0.0, s.travel_mm * 1000.0)
    for c in CONTROLLER_MODELS.values():
        assert c.family in FAMILIES and c.n_bays >= 1
    assert KDC_STAGE_IDS[7] == "MTS25-Z8" and KDC_STAGE_IDS[8] == "MTS50-Z8"


def test_lookups_are_case_insensitive_and_errors_list_the_choices():
    assert controller_model(" kdc101 ").name == "KDC101"
    assert stage_model("mts50-z8").travel_mm == 50.0
    with pytest.raises(ValueError, match="known: BBD201"):
        controller_model("KDC999")
    with pytest.raises(ValueError, match="known: DDS220"):
        stage_model("XYZ")
    with pytest.raises(ValueError, match="no known scale on a BSC202"):
        stage_model("MTS25-Z8", controller_model("BSC202"))
