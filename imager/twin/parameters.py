"""Parameters of the film twin, each with its source.

:class:`FilmParameters` holds every number of the rate-equation model. Sources
are marked in the attribute docs and in ``imager/twin/README.md``:

* **paper** -- stated in the paper (composition, absorption band, targets);
* **standard** -- Er3+/Yb3+ spectroscopy or materials handbooks (level
  energies, degeneracies, cross-sections, conductivity);
* **chosen** -- a typical value for ~30 nm core-only NaYF4:Yb,Er nanocrystals
  where the paper gives none (order of magnitude, not measured here);
* **fitted** -- determined by ``python -m imager.twin.fit`` against the
  paper's numbers; the values are in :data:`FITTED` below.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

FITTED: dict[str, float] = {
    # Written from the output of `python -m imager.twin.fit` (least squares on the
    # paper's ratios and lifetime changes; see imager/twin/fit.py). Do not edit by
    # hand: re-run the script and copy its "FITTED = {...}" block here.
    "A_525_per_s": 1290.04,
    "exchange_down_298K_per_s": 61351.1,
    "nr_2H11_per_s": 10330.4,
    "mir_4S_to_2H_per_s_per_W_per_um2": 1.17754e+10,
    "mir_4F9_loss_per_s_per_W_per_um2": 1.04138e+09,
    "mir_heating_K_per_W_per_um2": 4.4891e+06,
}


@dataclass(frozen=True)
class FilmParameters:
    """Every number of the NaYF4:20%Yb/2%Er film model.

    Rates are per ion, s^-1; "at 298 K" rates scale with temperature as stated.
    Energy-transfer (ET) rates are per Er ion at full Yb excitation (multiply by
    the excited Yb fraction).

    Attributes
    ----------
    yb_fraction, er_fraction : float
        Dopant fractions of the rare-earth sites, 0.20 and 0.02 (paper).
    rare_earth_sites_per_cm3 : float
        Rare-earth site density of beta-NaYF4, 1.38e22 cm^-3 (standard: hexagonal
        cell a = 5.96 A, c = 3.53 A with 1.5 rare-earth sites per cell).
    packing_fraction : float
        Volume fraction of crystal in the nanocrystal film, 0.5 (chosen: random
        packing of ligand-capped spheres).
    film_thickness_um : float
        Film thickness, 0.1 um (chosen: about three layers of the paper's 34 nm
        crystals; sets the number of emitters under the pump spot).
    pump_wavelength_nm : float
        980 nm (paper).
    pump_fwhm_um : float
        Intensity FWHM of the focused pump spot, 1 um (the simulated lab's default).
    yb_absorption_cm2, yb_emission_cm2 : float
        Yb3+ cross-sections at the pump wavelength, 1e-20 cm^2 each (standard:
        order of magnitude for Yb3+ in fluorides; equal at the zero-phonon line).
    yb_radiative_per_s : float
        Yb3+ 2F5/2 radiative rate, 500 s^-1 (standard: ~2 ms in fluorides).
    yb_quench_298K_per_s : float
        Surface quenching of Yb3+ 2F5/2 at 298 K, 3000 s^-1 (chosen: core-only
        ~30 nm crystals, Yb lifetime of a few hundred microseconds).
    yb_quench_activation_cm1 : float
        Arrhenius activation of that quenching, 1000 cm^-1 (chosen: gives the
        thermal dimming of all bands the paper reports).
    et_4I11_per_s, et_4F7_per_s, et_4F9_per_s : float
        Yb->Er transfer rates 4I15/2->4I11/2, 4I11/2->4F7/2 (then fast to 2H11/2)
        and 4I13/2->4F9/2: 3e4, 3e4, 1e4 s^-1 (chosen: order of magnitude of
        rate-equation models of NaYF4:Yb,Er).
    bet_per_s : float
        Back transfer 4S3/2 + Yb(2F7/2) -> 4I13/2 + Yb(2F5/2) per Er at full Yb
        ground-state population, 1000 s^-1 (chosen).
    decay_4I13_per_s : float
        4I13/2 total decay, 500 s^-1 (chosen: surface-quenched).
    decay_4I11_per_s, branch_4I11_to_4I13 : float
        4I11/2 total decay 2000 s^-1, 30 % of it to 4I13/2 (chosen).
    A_660_per_s : float
        4F9/2 -> 4I15/2 radiative rate, 800 s^-1 (standard: Judd-Ofelt order of
        magnitude for Er3+ in fluorides).
    nr_4F9_298K_per_s : float
        4F9/2 non-radiative decay (to 4I9/2 -> 4I11/2) at 298 K, 2500 s^-1 (chosen).
    A_545_per_s, A_4S_850_per_s : float
        4S3/2 radiative rates to 4I15/2 (545 nm) and 4I13/2 (850 nm), 900 and
        300 s^-1 (standard: Judd-Ofelt order of magnitude).
    nr_4S_298K_per_s : float
        4S3/2 non-radiative decay to 4F9/2 at 298 K, 5000 s^-1 (chosen: surface
        quenching in small crystals).
    A_525_per_s : float
        2H11/2 -> 4I15/2 radiative rate (fitted; the hypersensitive transition).
    nr_2H11_per_s : float
        2H11/2 losses other than relaxation to 4S3/2 (fitted).
    exchange_down_298K_per_s : float
        Phonon-assisted relaxation 2H11/2 -> 4S3/2 at 298 K (fitted). The reverse
        rate follows detailed balance, ``k_up = k_down * (12/4) * exp(-gap/kT)``.
    gap_cm1 : float
        2H11/2 - 4S3/2 energy gap, 750 cm^-1 (standard: Er3+ in fluorides,
        700-800 cm^-1).
    degeneracy_2H, degeneracy_4S : int
        2J+1 = 12 and 4 (standard).
    phonon_cm1 : float
        Effective phonon energy of the energy-gap law, 370 cm^-1 (standard:
        beta-NaYF4 phonon cut-off ~350-400 cm^-1). Multiphonon rates scale with
        temperature as ``((n(T) + 1) / (n(298 K) + 1))**(gap / phonon)``.
    gap_4S_4F9_cm1, gap_4F9_4I9_cm1 : float
        Gaps bridged by the non-radiative 4S3/2 and 4F9/2 decays, 3100 and
        2800 cm^-1 (standard: Er3+ level energies 18 350, 15 250, 12 450 cm^-1).
    mir_4S_to_2H_per_s_per_W_per_um2 : float
        MIR-driven 4S3/2 -> 2H11/2 rate per unit absorbed MIR intensity (fitted).
    mir_4F9_loss_per_s_per_W_per_um2 : float
        MIR-driven depopulation of 4F9/2 (to 4I9/2 -> 4I11/2) per unit absorbed
        MIR intensity (fitted).
    mir_heating_K_per_W_per_um2 : float
        Film heating per unit absorbed MIR intensity (fitted: the film reaches
        335 K, the paper's maximum, at the "MIR on" intensity).
    mir_band_min_um, mir_band_max_um : float
        Film absorption band 4.6-10.5 um (paper).
    mir_band_edge_um, mir_band_sigma_um, mir_lambda_ref_um : float
        Shape of the absorption ``A(lambda)``: logistic edges 0.25 um wide, a
        Gaussian taper of sigma 3 um, normalised to 1 at 7.4 um (chosen: smooth
        and broad; the paper gives the band, not its shape).
    substrate_conductivity_W_per_m_K : float
        CaF2 thermal conductivity, 9.71 W/(m K) (standard, handbook value).
    substrate_density_kg_per_m3, substrate_specific_heat_J_per_kg_K : float
        CaF2 density 3180 kg/m^3 and specific heat 854 J/(kg K) at 298 K
        (standard, handbook values). With the conductivity they set the thermal
        diffusivity, hence the time constant of the MIR heating
        (:mod:`imager.twin.modulation`).
    """

    yb_fraction: float = 0.20
    er_fraction: float = 0.02
    rare_earth_sites_per_cm3: float = 1.38e22
    packing_fraction: float = 0.5
    film_thickness_um: float = 0.1
    pump_wavelength_nm: float = 980.0
    pump_fwhm_um: float = 1.0
    yb_absorption_cm2: float = 1.0e-20
    yb_emission_cm2: float = 1.0e-20
    yb_radiative_per_s: float = 500.0
    yb_quench_298K_per_s: float = 3000.0
    yb_quench_activation_cm1: float = 1000.0
    et_4I11_per_s: float = 3.0e4
    et_4F7_per_s: float = 3.0e4
    et_4F9_per_s: float = 1.0e4
    bet_per_s: float = 1000.0
    decay_4I13_per_s: float = 500.0
    decay_4I11_per_s: float = 2000.0
    branch_4I11_to_4I13: float = 0.3
    A_660_per_s: float = 800.0
    nr_4F9_298K_per_s: float = 2500.0
    A_545_per_s: float = 900.0
    A_4S_850_per_s: float = 300.0
    nr_4S_298K_per_s: float = 5000.0
    A_525_per_s: float = FITTED["A_525_per_s"]
    nr_2H11_per_s: float = FITTED["nr_2H11_per_s"]
    exchange_down_298K_per_s: float = FITTED["exchange_down_298K_per_s"]
    gap_cm1: float = 750.0
    degeneracy_2H: int = 12
    degeneracy_4S: int = 4
    phonon_cm1: float = 370.0
    gap_4S_4F9_cm1: float = 3100.0
    gap_4F9_4I9_cm1: float = 2800.0
    mir_4S_to_2H_per_s_per_W_per_um2: float = FITTED["mir_4S_to_2H_per_s_per_W_per_um2"]
    mir_4F9_loss_per_s_per_W_per_um2: float = FITTED["mir_4F9_loss_per_s_per_W_per_um2"]
    mir_heating_K_per_W_per_um2: float = FITTED["mir_heating_K_per_W_per_um2"]
    mir_band_min_um: float = 4.6
    mir_band_max_um: float = 10.5
    mir_band_edge_um: float = 0.25
    mir_band_sigma_um: float = 3.0
    mir_lambda_ref_um: float = 7.4
    substrate_conductivity_W_per_m_K: float = 9.71
    substrate_density_kg_per_m3: float = 3180.0
    substrate_specific_heat_J_per_kg_K: float = 854.0

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            if not value >= 0.0:
                raise ValueError(f"FilmParameters.{name} must be >= 0, got {value!r}")
        for name in ("pump_fwhm_um", "phonon_cm1", "gap_cm1", "film_thickness_um",
                     "mir_band_edge_um", "mir_band_sigma_um", "substrate_conductivity_W_per_m_K",
                     "substrate_density_kg_per_m3", "substrate_specific_heat_J_per_kg_K"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"FilmParameters.{name} must be > 0")
        if not self.mir_band_min_um < self.mir_lambda_ref_um < self.mir_band_max_um:
            raise ValueError("FilmParameters: need mir_band_min_um < mir_lambda_ref_um "
                             "< mir_band_max_um")
        if not 0.0 <= self.branch_4I11_to_4I13 <= 1.0:
            raise ValueError("FilmParameters.branch_4I11_to_4I13 must be within [0, 1]")

    def as_dict(self) -> dict[str, float]:
        """All numeric parameters by name (for scan files and tables)."""
        return {k: float(v) for k, v in asdict(self).items()}

    @property
    def er_per_cm3(self) -> float:
        """Er3+ density in the film (crystal density x packing), cm^-3."""
        return self.rare_earth_sites_per_cm3 * self.er_fraction * self.packing_fraction

    @property
    def yb_per_cm3(self) -> float:
        """Yb3+ density in the film, cm^-3."""
        return self.rare_earth_sites_per_cm3 * self.yb_fraction * self.packing_fraction
