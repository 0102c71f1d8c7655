"""Rules: the safe rule language, dated legislative parameters and the catalogue of eligibility rules."""

from rules.catalogue import Catalogue, Rule, default_catalogue_dir, load_catalogue
from rules.compiler import FLAG_SCHEMA, CompiledCatalogue, compile_catalogue
from rules.geography import Geography
from rules.parameters import Parameters, default_parameters_dir, load_parameters

__all__ = [
    "FLAG_SCHEMA",
    "Catalogue",
    "CompiledCatalogue",
    "Geography",
    "Parameters",
    "Rule",
    "compile_catalogue",
    "default_catalogue_dir",
    "default_parameters_dir",
    "load_catalogue",
    "load_parameters",
]
