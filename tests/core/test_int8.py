"""The int8 scheme per CPU class: fast where the kernels are exact, portable where the class is unknown or mixed."""

from __future__ import annotations

import pytest

from npuport.core.devices import cpu_class
from npuport.core.errors import InputError
from npuport.core.int8 import choose_int8, exact_on, scheme_for


@pytest.mark.parametrize(("classes", "scheme"), [
    ([], "uint8"), (["portable"], "uint8"), (["x86-64-amx"], "int8"), (["x86-64-avx512-vnni"], "int8"),
    (["x86-64-avx-vnni"], "int8"), (["x86-64-avx2"], "int8-7bit"), (["x86-64-avx512"], "int8-7bit"),
    (["x86-64-amx", "x86-64-avx2"], "uint8"), (["arm64-i8mm"], "uint8"), (["x86-64-amx", "portable"], "uint8"),
])
def test_each_class_gets_the_fastest_scheme_exact_on_it(classes, scheme):  # type: ignore[no-untyped-def]
    chosen, why = scheme_for(classes)
    assert chosen == scheme and why
    assert all(exact_on(chosen, c) for c in classes if c != "portable")


def test_full_int8_weights_are_not_exact_where_vpmaddubsw_saturates():
    assert exact_on("int8", "x86-64-avx512-vnni") and not exact_on("int8", "x86-64-avx2")
    assert not exact_on("int8", "x86-64-avx512") and exact_on("int8-7bit", "x86-64-avx2") and exact_on("uint8", "arm64-neon")


def test_native_is_this_machine_and_an_explicit_scheme_wins():
    assert choose_int8(None, "native").chosen_for == cpu_class().name
    explicit = choose_int8("uint8", "x86-64-amx")
    assert (explicit.scheme, explicit.chosen_for) == ("uint8", "x86-64-amx")
    with pytest.raises(InputError, match="unknown --cpu-class"):
        choose_int8(None, "zen4")
