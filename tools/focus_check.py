#!/usr/bin/env python3
"""Run focus-validator (2.x, Python API) on a FOCUS file; print JSON; exit 1 on unexpected failures.

Usage: fv_check.py DATA_FILE [--version 1.2] [--criteria A,B,...] [--allow RULE_ID ...] [--json-out F]

Why a wrapper: the focus-validator CLI exits 0 even when rules fail and has no JSON output.
Exit codes: 0 = no unexpected FAIL, 1 = at least one unexpected FAIL, 2 = validator crashed.
"""
import argparse
import json
import os
import sys
import traceback


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("data_file")
    ap.add_argument("--version", default="1.2")
    ap.add_argument("--criteria", default=None, help="comma list for --applicability-criteria, or ALL")
    ap.add_argument("--allow", action="append", default=[], help="rule id whose FAIL is tolerated")
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()

    data_file = os.path.abspath(a.data_file)
    import focus_validator
    from focus_validator.validator import Validator

    # focus-validator 2.2.1 opens "focus_validator/rules/currency_codes.csv" relative to the CWD
    # (BillingCurrency-C-006-M); run from site-packages so that path resolves.
    os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(focus_validator.__file__))))
    try:
        v = Validator(
            data_filename=data_file, output_destination=None, output_type="console",
            rules_version=a.version, focus_dataset="CostAndUsage",
            rules_block_remote_download=True,  # never try GitHub; 1.2 rules ship in the wheel
            applicability_criteria=a.criteria,
        )
        v.outputter.write = lambda results: None  # silence the console table
        res = v.validate()
    except Exception:
        traceback.print_exc()
        return 2

    passed, skipped, failed = [], [], []
    for rid, e in sorted(res.by_rule_id.items()):
        d = e.get("details") or {}
        if d.get("skipped"):
            skipped.append(rid)
        elif e.get("ok"):
            passed.append(rid)
        else:
            rule = res.rules.get(rid)
            failed.append({
                "rule_id": rid,
                "violations": d.get("violations"),
                "message": d.get("message"),
                "error": d.get("error"),
                "must_satisfy": rule.validation_criteria.must_satisfy if rule else None,
            })

    ok_ids = set(passed)
    allowed = set(a.allow)
    # InvoiceId-C-003-C is "C-004 (all null) OR C-005 (none null)"; the losing leaf is always
    # reported as FAIL even when the OR parent passes. Tolerate it when the parent passed.
    if "InvoiceId-C-003-C" in ok_ids:
        allowed |= {"InvoiceId-C-004-C", "InvoiceId-C-005-C"}
    tolerated = []
    # The same rule is stated per charge ("null when the charge is not associated with an invoice", "not null
    # when it is") but checked over the whole column, so a file holding invoiced charges beside charges no
    # invoice carries (asset depreciation, a billing export without invoice ids) fails both leaves. Tolerate it
    # when each provider's charges are all invoiced or all not: what is null is a source without invoices, not
    # a line that lost its invoice.
    invoice_ids = {"InvoiceId-C-000-O", "InvoiceId-C-003-C", "InvoiceId-C-004-C", "InvoiceId-C-005-C"}
    if "InvoiceId-C-003-C" in {f["rule_id"] for f in failed}:
        why = invoices_by_provider(data_file)
        if why is not None:
            allowed |= invoice_ids
            tolerated.append({"rule_id": "InvoiceId-C-003-C", "why": why})
    # EffectiveCost-C-005-C encodes "EffectiveCost MUST be 0 when ChargeCategory is Purchase and the purchase
    # is intended to cover future eligible charges" as "... when ChargeCategory is Purchase": every purchase. A
    # purchase that covers no future charges (a subscription fee, a support plan) keeps its cost as its
    # EffectiveCost. Check the rule as written instead: a commitment purchase (CommitmentDiscountId set) must
    # have an EffectiveCost of 0; tolerate the validator's failure only when none breaks that. A recurring
    # commitment fee (a savings plan without upfront payment) pays for the period it is billed in, not for
    # future charges: its EffectiveCost is the commitment left unused that period, as in AWS's own FOCUS data.
    if any(f["rule_id"] == "EffectiveCost-C-005-C" for f in failed) and "EffectiveCost-C-005-C" not in allowed:
        why = commitment_purchases_with_cost(data_file)
        if why is not None:
            allowed.add("EffectiveCost-C-005-C")
            tolerated.append({"rule_id": "EffectiveCost-C-005-C", "why": why})
    unexpected = [f for f in failed if f["rule_id"] not in allowed]

    report = {
        "file": data_file, "focus_version": res.rules_version, "model_version": res.model_version,
        "rows": res.data_row_count, "criteria": a.criteria,
        "counts": {"total": len(res.by_rule_id), "pass": len(passed), "fail": len(failed),
                   "skipped": len(skipped), "unexpected_fail": len(unexpected)},
        "failed": failed, "tolerated": tolerated, "unexpected_fail_ids": [f["rule_id"] for f in unexpected],
    }
    text = json.dumps(report, indent=2, default=str)
    if a.json_out:
        with open(a.json_out, "w") as fh:
            fh.write(text)
    print(text)
    return 1 if unexpected else 0


def commitment_purchases_with_cost(data_file):
    """None when some commitment purchase has a non-zero EffectiveCost (or that cannot be told); else why the
    validator's failures are purchases that cover no future charges."""
    import duckdb
    src = (f"read_parquet('{data_file}')" if data_file.endswith(".parquet")
           else f"read_csv('{data_file}', all_varchar=true)")
    con = duckdb.connect()
    cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    if "CommitmentDiscountId" not in cols:
        return None
    bad, other = con.execute(
        f"SELECT count(*) FILTER (WHERE CommitmentDiscountId IS NOT NULL AND CommitmentDiscountId <> '' "
        f"AND ChargeFrequency IS DISTINCT FROM 'Recurring'), "
        f"count(*) FILTER (WHERE CommitmentDiscountId IS NULL OR CommitmentDiscountId = '') "
        f"FROM {src} WHERE ChargeCategory = 'Purchase' AND CAST(EffectiveCost AS DECIMAL(38, 18)) <> 0"
    ).fetchone()
    if bad:
        return None
    return (f"{other} purchase rows with an EffectiveCost are not commitment purchases (no CommitmentDiscountId), "
            f"so they cover no future charges; every commitment purchase paid ahead has an EffectiveCost of 0 "
            f"(a recurring commitment fee keeps the commitment its period left unused)")


def invoices_by_provider(data_file):
    """None when some provider has charges both with and without an InvoiceId; else which providers' charges
    come without one."""
    import duckdb
    src = (f"read_parquet('{data_file}')" if data_file.endswith(".parquet")
           else f"read_csv('{data_file}', all_varchar=true)")
    rows = duckdb.connect().execute(
        f"SELECT ProviderName, count(*) FILTER (WHERE InvoiceId IS NULL OR InvoiceId = '') AS without, "
        f"count(*) FILTER (WHERE InvoiceId IS NOT NULL AND InvoiceId <> '') AS with_id "
        f"FROM {src} GROUP BY ProviderName ORDER BY ProviderName"
    ).fetchall()
    if any(without and with_id for _, without, with_id in rows):
        return None
    none = [p for p, without, _ in rows if without]
    return (f"the charges without an InvoiceId are all those of {', '.join(map(str, none))}, whose sources carry "
            f"no invoice id; every other provider's charges have one")


if __name__ == "__main__":
    sys.exit(main())
