"""What the stages record about variants, and where: every path under reports/ (`paths`), the one rule for keeping
earlier records (`keep`), and each record type with its writer and reader (`bench`, `evaluation`).

Every record names its variant and the variant's digest (`Variant.digest`, stored as "sha256"); a record whose digest
is not the variant's current one was measured on other bytes and is dropped or ignored, never shown. A report is a
cache of measurements: an unreadable one reads as empty, never as an error.
"""
