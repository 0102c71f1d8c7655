"""Fake contact directory rows (contract v1, contact directory) consistent with the extract's channels.

Faker `fr_FR` per row is far too slow for millions of rows: Faker fills small seeded pools of names,
streets and e-mail domains once, and numpy indices pick from them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl
from faker import Faker

from detection.synthetic.entitlement import BoolArray

POOL_SIZE = 1_000
CONTACT_COLUMNS = ("civilite", "nom", "prenom", "telephone", "email", "adresse", "code_postal", "ville")

# Share of written phone numbers and e-mail addresses made deliberately invalid.
INVALID_SHARE = 0.03


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


@dataclass(frozen=True)
class ContactPools:
    """Seeded pools of fake names, streets and e-mail domains."""

    last_names: pl.Series
    last_slugs: pl.Series
    female_names: pl.Series
    female_slugs: pl.Series
    male_names: pl.Series
    male_slugs: pl.Series
    streets: pl.Series
    domains: pl.Series

    @classmethod
    def build(cls, seed: int, size: int = POOL_SIZE) -> ContactPools:
        """Pools drawn by Faker `fr_FR` seeded with `seed` (same seed, same pools)."""
        fake = Faker("fr_FR")
        fake.seed_instance(seed)
        last = [fake.last_name() for _ in range(size)]
        female = [fake.first_name_female() for _ in range(size)]
        male = [fake.first_name_male() for _ in range(size)]
        streets = [fake.street_name() for _ in range(size)]
        domains = sorted({fake.free_email_domain() for _ in range(200)})
        return cls(
            last_names=pl.Series(last),
            last_slugs=pl.Series([_slug(x) for x in last]),
            female_names=pl.Series(female),
            female_slugs=pl.Series([_slug(x) for x in female]),
            male_names=pl.Series(male),
            male_slugs=pl.Series([_slug(x) for x in male]),
            streets=pl.Series(streets),
            domains=pl.Series(domains),
        )


@dataclass(frozen=True)
class Channels:
    """Which kinds of contact each household has (the extract's `canal_*` columns)."""

    mobile: BoolArray
    landline: BoolArray
    email: BoolArray
    postal: BoolArray

    @property
    def telephone(self) -> BoolArray:
        """A phone number of any kind was written."""
        return self.mobile | self.landline


def draw_channels(rng: np.random.Generator, n: int) -> Channels:
    """Mobile for most, a landline for some others, e-mail for two thirds, an address for almost all."""
    mobile = rng.random(n) < 0.85
    landline = ~mobile & (rng.random(n) < 0.4)
    return Channels(
        mobile=mobile,
        landline=landline,
        email=rng.random(n) < 0.65,
        postal=rng.random(n) < 0.97,
    )


# First two digits of the national number, among blocks that numbering plan metadata accepts.
_MOBILE_BLOCKS = ("60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78")
_LANDLINE_BLOCKS = ("14", "15", "16", "17", "18", "23", "24", "32", "33", "38", "42", "43", "44", "49", "55")
# Households of an overseas department have its numbers: (country code, mobile blocks, landline
# blocks), each block four digits of the national number, whose following five are all valid.
_OVERSEAS_PHONES = {
    "971": ("590", ("6900", "6905"), ("5902", "5908")),
    "972": ("596", ("6962", "6972"), ("5963", "5966")),
    "973": ("594", ("6940", "6944"), ("5942", "5949")),
    "974": ("262", ("6921", "6934"), ("2621", "2625")),
    "976": ("262", ("6392", "6396"), ("2696",)),
}


def _phone_expr() -> pl.Expr:
    """A French number in one of its usual written forms, or a broken one."""
    nsn = pl.col("_nsn")  # the 9 digits after the leading 0
    pairs = [nsn.str.slice(i, 2) for i in range(1, 9, 2)]
    spaced = pl.concat_str([pl.lit("0") + nsn.str.slice(0, 1), *pairs], separator=" ")
    compact = pl.lit("0") + nsn
    international = pl.concat_str([pl.lit("+") + pl.col("_cc"), nsn.str.slice(0, 1), *pairs], separator=" ")
    zeros = pl.lit("00") + pl.col("_cc") + nsn
    too_short = pl.concat_str([pl.lit("0") + nsn.str.slice(0, 1), *pairs[:3]], separator=" ")
    too_long = pl.lit("0") + nsn + pl.lit("9")
    form = pl.col("_phone_form")
    return (
        pl.when(~pl.col("_has_phone"))
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("_phone_invalid"))
        .then(pl.when(form % 2 == 0).then(too_short).otherwise(too_long))
        .when(form < 6)
        .then(spaced)
        .when(form < 8)
        .then(compact)
        .when(form < 9)
        .then(international)
        .otherwise(zeros)
    )


def _email_expr() -> pl.Expr:
    suffix = (
        pl.when(pl.col("_email_suffix") >= 40)
        .then(pl.col("_email_suffix").cast(pl.String))
        .otherwise(pl.lit(""))
    )
    local = pl.concat_str([pl.col("_first_slug"), pl.lit("."), pl.col("_last_slug"), suffix])
    valid = pl.concat_str([local, pl.lit("@"), pl.col("_domain")])
    broken = (
        pl.when(pl.col("_email_form") % 3 == 0)
        .then(pl.concat_str([local, pl.col("_domain")]))  # no @
        .when(pl.col("_email_form") % 3 == 1)
        .then(pl.concat_str([local, pl.lit("@@"), pl.col("_domain")]))
        .otherwise(pl.concat_str([local, pl.lit(" @"), pl.col("_domain")]))
    )
    return (
        pl.when(~pl.col("_has_email"))
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("_email_invalid"))
        .then(broken)
        .otherwise(valid)
    )


def _overseas_numbers(
    postal_codes: pl.Series, mobile: BoolArray, block: np.ndarray, digits: np.ndarray
) -> list[pl.Series | pl.Expr]:
    """The country code and national number of each household: its overseas department's where it
    lives in one (by postal code), drawn from the same random numbers as the metropolitan ones."""
    department = postal_codes.fill_null("").str.slice(0, 3).to_numpy()
    cc = np.full(len(block), "33", dtype=object)
    nsn = np.full(len(block), None, dtype=object)
    for code, (country, mobiles, landlines) in _OVERSEAS_PHONES.items():
        rows = department == code
        if not rows.any():
            continue
        picked = block[rows]
        prefix = np.where(
            mobile[rows],
            np.array(mobiles)[picked % len(mobiles)],
            np.array(landlines)[picked % len(landlines)],
        )
        nsn[rows] = np.char.add(prefix, np.char.zfill((digits[rows] % 100_000).astype(str), 5))
        cc[rows] = country
    overseas = pl.Series("_overseas", nsn, dtype=pl.String)
    return [pl.Series("_cc", cc, dtype=pl.String), pl.coalesce(overseas, pl.col("_nsn")).alias("_nsn")]


def draw_contacts(
    rng: np.random.Generator,
    pools: ContactPools,
    channels: Channels,
    postal_codes: pl.Series,
    towns: pl.Series,
) -> pl.DataFrame:
    """One contact row per household, in the extract's order (the key column is added by the caller)."""
    n = len(channels.mobile)
    female = rng.random(n) < 0.52
    first_idx = rng.integers(0, len(pools.female_names), n)
    last_idx = rng.integers(0, len(pools.last_names), n)
    civilite = np.where(rng.random(n) < 0.02, 2, female.astype(np.int64))  # index into M., Mme, ""
    blocks = pl.Series(_MOBILE_BLOCKS + _LANDLINE_BLOCKS)
    block = np.where(
        channels.mobile,
        rng.integers(0, len(_MOBILE_BLOCKS), n),
        len(_MOBILE_BLOCKS) + rng.integers(0, len(_LANDLINE_BLOCKS), n),
    )
    has_phone = channels.telephone
    # Drawn in the order they always were: a seed gives the same directory as before.
    suffix = rng.integers(0, 100, n)
    domain = rng.integers(0, len(pools.domains), n)
    digits = rng.integers(0, 10_000_000, n)
    raw = pl.DataFrame(
        {
            "civilite": pl.Series(("M.", "Mme", "")).gather(civilite),
            "nom": pools.last_names.gather(last_idx),
            "prenom": pl.select(
                pl.when(pl.lit(pl.Series(female)))
                .then(pools.female_names.gather(first_idx))
                .otherwise(pools.male_names.gather(first_idx))
            ).to_series(),
            "_first_slug": pl.select(
                pl.when(pl.lit(pl.Series(female)))
                .then(pools.female_slugs.gather(first_idx))
                .otherwise(pools.male_slugs.gather(first_idx))
            ).to_series(),
            "_last_slug": pools.last_slugs.gather(last_idx),
            "_email_suffix": suffix,
            "_domain": pools.domains.gather(domain),
            "_nsn": blocks.gather(block) + pl.Series(digits).cast(pl.String).str.zfill(7),
            "_phone_form": rng.integers(0, 10, n),
            "_has_phone": has_phone,
            "_phone_invalid": rng.random(n) < INVALID_SHARE,
            "_has_email": channels.email,
            "_email_invalid": rng.random(n) < INVALID_SHARE,
            "_email_form": rng.integers(0, 3, n),
            "_number": rng.integers(1, 120, n),
            "_street": pools.streets.gather(rng.integers(0, len(pools.streets), n)),
            "_has_postal": channels.postal,
            "_postal_code": postal_codes,
            "_town": towns,
        }
    )
    raw = raw.with_columns(_overseas_numbers(postal_codes, channels.mobile, block, digits))
    postal = pl.col("_has_postal")
    return raw.select(
        "civilite",
        "nom",
        "prenom",
        _phone_expr().alias("telephone"),
        _email_expr().alias("email"),
        pl.when(postal)
        .then(pl.concat_str([pl.col("_number").cast(pl.String), pl.col("_street")], separator=" "))
        .alias("adresse"),
        pl.when(postal).then(pl.col("_postal_code")).alias("code_postal"),
        pl.when(postal).then(pl.col("_town")).alias("ville"),
    )
