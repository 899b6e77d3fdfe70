"""Write the bundled ONS subset for the Leicestershire/Rutland default (data/ons-lsoa-leicestershire/).

From the full tables in ``../shared/data/raw/ons-lsoa`` (IoD 2025 and Census 2021 on LSOA 2021 codes, the
ONS 2011 -> 2021 best-fit lookup) it keeps, values and columns unchanged:

* every 2021 LSOA of the districts holding at least 1% of the bundled police.uk records (the force area,
  as :func:`patrol_planner.evaluation.equity.force_area` finds it), and the 2021 LSOAs the other records
  map to (crimes just over the border);
* the lookup rows of those districts and of every 2011 code on the bundled records.

    PYTHONPATH=src python benchmarks/make_ons_sample.py [FULL_ONS_FOLDER]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT.parent / "shared" / "data" / "raw" / "ons-lsoa"
OUT = ROOT / "data" / "ons-lsoa-leicestershire"
CRIMES = sorted((ROOT / "data" / "policeuk-leicestershire-2022").glob("*-street.csv"))


def main(full: Path = FULL) -> None:
    lk = pd.read_csv(full / "lsoa11_lsoa21_lookup.csv", dtype=str, keep_default_na=False)
    codes = pd.concat([pd.read_csv(f, usecols=["LSOA code"], dtype=str)["LSOA code"] for f in CRIMES]).dropna()
    rows = lk.set_index("LSOA11CD").reindex(codes)
    share = rows["LAD22CD"].value_counts(normalize=True)
    lads = set(share.index[share >= 0.01])
    keep_lk = lk[lk["LAD22CD"].isin(lads) | lk["LSOA11CD"].isin(set(codes))]
    pop = pd.read_csv(full / "census21_pop.csv", dtype=str, keep_default_na=False)
    lad_names = set(lk.loc[lk["LAD22CD"].isin(lads), "LAD22NM"])
    in_lads = pop["lsoa21_name"].str.rsplit(" ", n=1).str[0].isin(lad_names)  # 2021 names start with the LAD's
    keep21 = set(pop.loc[in_lads, "lsoa21_code"]) | set(keep_lk["LSOA21CD"])
    iod = pd.read_csv(full / "iod2025_eng.csv", dtype=str, keep_default_na=False)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, df in (("lsoa11_lsoa21_lookup.csv", keep_lk), ("census21_pop.csv", pop[pop["lsoa21_code"].isin(keep21)]),
                     ("iod2025_eng.csv", iod[iod["lsoa21_code"].isin(keep21)])):
        df.to_csv(OUT / name, index=False, lineterminator="\n")
        print(f"{name}: {len(df)} rows, sha256 {hashlib.sha256((OUT / name).read_bytes()).hexdigest()}")
    print(f"districts: {sorted(lad_names)}; 2021 LSOAs: {len(keep21)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else FULL)
