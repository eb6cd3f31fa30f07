"""Addresses of this process → function, file and line.

The profilers record raw code addresses.  :class:`Symbolizer` finds the
mapped file of each address in ``/proc/self/maps``, turns the address into
the file's own virtual address through its ``PT_LOAD`` segments, and looks it
up in the ELF symbol tables (``.symtab`` when the file has one — static
functions of the extension included — else ``.dynsym``, as for libc) and,
when the file carries DWARF (the extension is built with ``-g``), in the line
table and the inlined-subroutine tree, so an address inside inlined code
yields one frame per inlining level, innermost first, as pprof wants.

Each file is read once per process (cached by path, size and mtime).
"""
from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

__all__ = ["Frame", "MapEntry", "Symbolizer", "read_maps"]


# Files with more DWARF than this (an interpreter built with -g) are read for
# their symbols only: pyelftools would take tens of seconds over them.
_MAX_DWARF = 4 << 20


class Frame(NamedTuple):
    function: str
    filename: str
    line: int
    address: int


@dataclass(frozen=True)
class MapEntry:
    """One executable mapping of /proc/self/maps."""

    start: int
    limit: int
    offset: int
    path: str  # "" for anonymous mappings; "[vdso]" and the like as given


def read_maps(pid: str = "self") -> list[MapEntry]:
    """The executable mappings of a process, sorted by start address."""
    out = []
    with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 5 or "x" not in parts[1]:
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5].strip() if len(parts) > 5 else ""
            out.append(MapEntry(lo, hi, int(parts[2], 16), path))
    out.sort(key=lambda m: m.start)
    return out


@dataclass
class _Inline:
    lo: int
    hi: int
    depth: int
    name: str
    call_file: str
    call_line: int


@dataclass
class _Subprogram:
    lo: int
    hi: int
    name: str
    inlines: list[_Inline] = field(default_factory=list)


class _ElfFile:
    """Symbols, line table and inline tree of one ELF file."""

    def __init__(self, path: str) -> None:
        from elftools.elf.elffile import ELFFile

        self.path = path
        self.build_id = ""
        self.segments: list[tuple[int, int, int]] = []  # (p_offset, p_filesz, p_vaddr)
        self._sym_lo: list[int] = []
        self._sym: list[tuple[int, int, str]] = []
        self._line_addr: list[int] = []
        self._line_row: list[tuple[str, int] | None] = []
        self._sub_lo: list[int] = []
        self._subs: list[_Subprogram] = []
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            for seg in elf.iter_segments():
                if seg["p_type"] == "PT_LOAD":
                    self.segments.append((seg["p_offset"], seg["p_filesz"], seg["p_vaddr"]))
                elif seg["p_type"] == "PT_NOTE":
                    for note in seg.iter_notes():
                        if note["n_type"] == "NT_GNU_BUILD_ID":
                            self.build_id = str(note["n_desc"])
            self._load_symbols(elf)
            info = elf.get_section_by_name(".debug_info")
            if info is not None and info["sh_size"] <= _MAX_DWARF:
                try:
                    dwarf = elf.get_dwarf_info()
                    self._load_lines(dwarf)
                    self._load_inlines(dwarf)
                except Exception:  # DWARF we cannot read: symbols alone still work
                    self._line_addr, self._line_row, self._sub_lo, self._subs = [], [], [], []

    # -- loading ----------------------------------------------------------

    def _load_symbols(self, elf) -> None:
        syms: dict[int, tuple[int, str, bool]] = {}
        for name in (".symtab", ".dynsym"):
            sec = elf.get_section_by_name(name)
            if sec is None:
                continue
            for s in sec.iter_symbols():
                if s["st_info"]["type"] not in ("STT_FUNC", "STT_GNU_IFUNC") or not s["st_value"] or not s.name:
                    continue
                glob = s["st_info"]["bind"] != "STB_LOCAL"
                old = syms.get(s["st_value"])
                # one name per address: prefer global names, then the longer size
                if old is None or (glob and not old[2]) or (glob == old[2] and s["st_size"] > old[0]):
                    syms[s["st_value"]] = (s["st_size"], s.name.split("@")[0], glob)
            if name == ".symtab" and syms:
                break
        for lo in sorted(syms):
            size, nm, _ = syms[lo]
            self._sym.append((lo, lo + max(size, 1), nm))
        self._sym_lo = [s[0] for s in self._sym]

    def _load_lines(self, dwarf) -> None:
        rows: list[tuple[int, int, tuple[str, int] | None]] = []
        for cu in dwarf.iter_CUs():
            lp = dwarf.line_program_for_CU(cu)
            if lp is None:
                continue
            files = _line_files(lp)
            for e in lp.get_entries():
                st = e.state
                if st is None:
                    continue
                if st.end_sequence:
                    rows.append((st.address, 0, None))
                else:
                    rows.append((st.address, 1, (files.get(st.file, "??"), st.line)))
        rows.sort(key=lambda r: (r[0], r[1]))
        self._line_addr = [r[0] for r in rows]
        self._line_row = [r[2] for r in rows]

    def _load_inlines(self, dwarf) -> None:
        subs: list[_Subprogram] = []
        for cu in dwarf.iter_CUs():
            lp = dwarf.line_program_for_CU(cu)
            files = _line_files(lp) if lp is not None else {}
            top = cu.get_top_DIE()
            for die in top.iter_children():
                if die.tag != "DW_TAG_subprogram":
                    continue
                for lo, hi in _die_ranges(dwarf, cu, die):
                    sp = _Subprogram(lo, hi, _die_name(die))
                    _collect_inlines(dwarf, cu, die, 1, files, sp.inlines)
                    subs.append(sp)
        subs.sort(key=lambda s: s.lo)
        self._subs = subs
        self._sub_lo = [s.lo for s in subs]

    # -- lookup ------------------------------------------------------------

    def vaddr(self, file_offset: int) -> int | None:
        for off, size, va in self.segments:
            if off <= file_offset < off + max(size, 1):
                return file_offset - off + va
        return None

    def symbol(self, va: int) -> str | None:
        i = bisect.bisect_right(self._sym_lo, va) - 1
        if i >= 0 and self._sym[i][0] <= va < self._sym[i][1]:
            return self._sym[i][2]
        return None

    def symbol_start(self, va: int) -> int | None:
        """The start (virtual address) of the function symbol holding `va`."""
        i = bisect.bisect_right(self._sym_lo, va) - 1
        if i >= 0 and self._sym[i][0] <= va < self._sym[i][1]:
            return self._sym[i][0]
        i = bisect.bisect_right(self._sub_lo, va) - 1
        return self._subs[i].lo if i >= 0 and self._subs[i].lo <= va < self._subs[i].hi else None

    def line(self, va: int) -> tuple[str, int] | None:
        i = bisect.bisect_right(self._line_addr, va) - 1
        return self._line_row[i] if i >= 0 else None

    def frames(self, va: int) -> list[tuple[str, str, int]]:
        """(function, file, line) innermost first; [] when nothing is known."""
        name = self.symbol(va)
        fl = self.line(va)
        i = bisect.bisect_right(self._sub_lo, va) - 1
        sub = self._subs[i] if i >= 0 and self._subs[i].lo <= va < self._subs[i].hi else None
        if sub is None:
            if name is None:
                return []
            return [(name, fl[0] if fl else "", fl[1] if fl else 0)]
        outer = name or sub.name
        chain: list[_Inline] = []
        for x in sub.inlines:  # DFS order: outermost first
            # GCC records some out-of-line clones as inlined into themselves
            if x.lo <= va < x.hi and x.name != (chain[-1].name if chain else outer):
                chain.append(x)
        names = [outer] + [x.name for x in chain]
        out = []
        file, line = (fl if fl else ("", 0))
        for depth in range(len(names) - 1, -1, -1):
            out.append((names[depth], file, line))
            if depth:
                file, line = chain[depth - 1].call_file, chain[depth - 1].call_line
        return out


def _line_files(lp) -> dict[int, str]:
    """File index → path for a line program (DWARF 5 counts from 0, older from 1)."""
    hdr = lp.header
    v5 = hdr["version"] >= 5
    dirs = [_s(d) for d in hdr["include_directory"]]
    out = {}
    for i, fe in enumerate(hdr["file_entry"]):
        name = _s(fe.name)
        di = fe.dir_index
        if v5:
            d = dirs[di] if di < len(dirs) else ""
        else:
            d = dirs[di - 1] if 0 < di <= len(dirs) else ""
        path = name if name.startswith("/") or not d else os.path.join(d, name)
        out[i if v5 else i + 1] = os.path.normpath(path)
    return out


def _s(b) -> str:
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)


def _die_name(die) -> str:
    for _ in range(8):
        a = die.attributes.get("DW_AT_name")
        if a is not None:
            return _s(a.value)
        for ref in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if ref in die.attributes:
                die = die.get_DIE_from_attribute(ref)
                break
        else:
            return "??"
    return "??"


def _die_ranges(dwarf, cu, die) -> list[tuple[int, int]]:
    at = die.attributes
    if "DW_AT_low_pc" in at and "DW_AT_high_pc" in at:
        lo = at["DW_AT_low_pc"].value
        hi = at["DW_AT_high_pc"]
        hiv = hi.value if hi.form == "DW_FORM_addr" else lo + hi.value
        return [(lo, hiv)]
    if "DW_AT_ranges" in at:
        rl = dwarf.range_lists()
        if rl is None:
            return []
        try:
            ranges = rl.get_range_list_at_offset(at["DW_AT_ranges"].value, cu=cu) \
                if at["DW_AT_ranges"].form != "DW_FORM_rnglistx" else rl.get_DIE_ranges(die)
        except Exception:
            return []
        base = cu.get_top_DIE().attributes.get("DW_AT_low_pc")
        base_v = base.value if base is not None else 0
        out = []
        for r in ranges:
            kind = type(r).__name__
            if kind == "RangeEntry":
                if getattr(r, "is_absolute", False):
                    out.append((r.begin_offset, r.end_offset))
                else:
                    out.append((base_v + r.begin_offset, base_v + r.end_offset))
            elif kind == "BaseAddressEntry":
                base_v = r.base_address
        return [(lo, hi) for lo, hi in out if hi > lo]
    return []


def _collect_inlines(dwarf, cu, die, depth: int, files: dict[int, str], out: list[_Inline]) -> None:
    for ch in die.iter_children():
        if ch.tag == "DW_TAG_inlined_subroutine":
            cf = ch.attributes.get("DW_AT_call_file")
            cl = ch.attributes.get("DW_AT_call_line")
            name = _die_name(ch)
            for lo, hi in _die_ranges(dwarf, cu, ch):
                out.append(_Inline(lo, hi, depth, name, files.get(cf.value, "") if cf else "",
                                   cl.value if cl else 0))
            _collect_inlines(dwarf, cu, ch, depth + 1, files, out)
        elif ch.tag == "DW_TAG_lexical_block":
            _collect_inlines(dwarf, cu, ch, depth, files, out)


class Symbolizer:
    """Symbolizes addresses of the current process (``/proc/self/maps``)."""

    _files: dict[tuple[str, int, int], _ElfFile | None] = {}

    def __init__(self, maps: list[MapEntry] | None = None) -> None:
        self.maps = maps if maps is not None else read_maps()
        self._starts = [m.start for m in self.maps]

    def mapping(self, addr: int) -> MapEntry | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self.maps[i].limit:
            return self.maps[i]
        return None

    @classmethod
    def elf(cls, path: str) -> _ElfFile | None:
        """The parsed file at `path` (cached), None when it cannot be read."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (path, st.st_size, st.st_mtime_ns)
        if key not in cls._files:
            try:
                cls._files[key] = _ElfFile(path)
            except Exception:
                cls._files[key] = None
        return cls._files[key]

    def frames(self, addr: int, exact: bool = False) -> list[Frame]:
        """Frames at `addr`, innermost first.  A return address (exact=False)
        is looked up at addr-1, the call instruction, and reported so."""
        pc = addr if exact else addr - 1
        m = self.mapping(pc)
        if m is None or not m.path.startswith("/"):
            return []
        f = self.elf(m.path)
        if f is None:
            return []
        va = f.vaddr(pc - m.start + m.offset)
        if va is None:
            return []
        return [Frame(fn, file, line, pc) for fn, file, line in f.frames(va)]

    def entry(self, addr: int, exact: bool = False) -> int | None:
        """The address where the function holding `addr` (a return address
        unless `exact`) starts, as Go's Frame.Entry; None when not known."""
        pc = addr if exact else addr - 1
        m = self.mapping(pc)
        f = self.elf(m.path) if m is not None and m.path.startswith("/") else None
        va = f.vaddr(pc - m.start + m.offset) if f is not None and m is not None else None
        start = f.symbol_start(va) if f is not None and va is not None else None
        return None if start is None or va is None else pc - (va - start)

    def build_id(self, path: str) -> str:
        f = self.elf(path) if path.startswith("/") else None
        return f.build_id if f else ""

    def used_mappings(self, addrs: Iterable[int]) -> list[MapEntry]:
        """The mappings covering any of `addrs`, main executable first."""
        seen: dict[MapEntry, None] = {}
        for a in addrs:
            m = self.mapping(a)
            if m is not None:
                seen[m] = None
        exe = os.path.realpath("/proc/self/exe")
        return sorted(seen, key=lambda m: (os.path.realpath(m.path) != exe, m.start))
