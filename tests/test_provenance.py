"""lstmkit.provenance: the machine's description (the report's and the bench's)."""

from __future__ import annotations

import os

from lstmkit import provenance

X86 = ["processor\t: 0", "model name\t: Intel(R) Xeon(R) Processor",
       "flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_vnni amx_tile amx_bf16 xsave",
       "processor\t: 1", "flags\t\t: fpu sse4_2"]
ARM = ["processor\t: 0", "Features\t: fp asimd evtstrm aes sve", "CPU part\t: 0xd0c"]


def test_cpu_flags_keeps_the_vector_sets_in_their_listed_order_from_the_first_cpu(monkeypatch):
    monkeypatch.setattr(provenance, "_cpuinfo", lambda: X86)
    assert provenance.cpu_flags() == ["sse4_2", "avx", "avx2", "fma", "avx512f",
                                      "avx512_vnni", "amx_tile", "amx_bf16"]
    monkeypatch.setattr(provenance, "_cpuinfo", lambda: ARM)
    assert provenance.cpu_flags() == ["asimd", "sve"]


def test_cpu_flags_is_empty_without_a_flags_line(monkeypatch):
    monkeypatch.setattr(provenance, "_cpuinfo", lambda: [])
    assert provenance.cpu_flags() == []
    monkeypatch.setattr(provenance, "_cpuinfo", lambda: ["model name\t: Some CPU"])
    assert provenance.cpu_flags() == []


def test_cpu_model_names_the_cpu_its_cores_and_flags(monkeypatch):
    monkeypatch.setattr(provenance, "_cpuinfo", lambda: X86)
    expected = (f"Intel(R) Xeon(R) Processor, {os.cpu_count()} logical cores "
                "(sse4_2 avx avx2 fma avx512f avx512_vnni amx_tile amx_bf16)")
    assert provenance.cpu_model() == expected
    monkeypatch.setattr(provenance, "_cpuinfo", lambda: [])
    assert provenance.cpu_model().endswith(f"{os.cpu_count()} logical cores")
