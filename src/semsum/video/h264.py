"""H.264 bitstream pieces the smart cut needs: the avcC record of an mp4 track, NAL units of length-prefixed and
Annex B packets, and the ids of parameter sets.

Copied and re-encoded parts of one summary keep their own sequence and picture parameter sets under different ids,
all listed in one avcC record, so that each slice finds the set it was coded with (the encoder's sets are not the
source's: x264 writes its own level, reference count and VUI).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAL_IDR, NAL_SPS, NAL_PPS = 5, 7, 8
START_CODE = re.compile(b"\x00\x00\x01")


@dataclass(frozen=True)
class AvcConfig:
    """An avcC record: profile, constraint flags, level, NAL length size and the parameter sets it lists."""

    profile: int
    compat: int
    level: int
    length_size: int
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]

    def merged(self, other: AvcConfig) -> AvcConfig:
        """The record listing both records' sets (ours first), for a stream whose slices use either."""
        return AvcConfig(
            self.profile,
            self.compat & other.compat,
            max(self.level, other.level),
            self.length_size,
            self.sps + other.sps,
            self.pps + other.pps,
        )

    def to_bytes(self) -> bytes:
        """The record as an mp4 muxer writes it (with the 4:2:0 8-bit extension of the High profiles)."""
        out = bytearray([1, self.profile, self.compat, self.level, 0xFC | (self.length_size - 1), 0xE0 | len(self.sps)])
        for unit in self.sps:
            out += len(unit).to_bytes(2, "big") + unit
        out.append(len(self.pps))
        for unit in self.pps:
            out += len(unit).to_bytes(2, "big") + unit
        if self.profile in (100, 110, 122, 144):
            out += bytes([0xFD, 0xF8, 0xF8, 0])  # chroma 4:2:0, 8-bit luma and chroma, no SPS extensions
        return bytes(out)


def parse_avcc(data: bytes | None) -> AvcConfig | None:
    """The avcC record in a track's extradata, or None when the extradata is not one (e.g. Annex B, empty)."""
    if not data or len(data) < 7 or data[0] != 1:
        return None
    sets: list[list[bytes]] = []
    pos, count = 6, data[5] & 0x1F
    for kind in ("sps", "pps"):
        units = []
        for _ in range(count):
            size = int.from_bytes(data[pos : pos + 2], "big")
            units.append(bytes(data[pos + 2 : pos + 2 + size]))
            pos += 2 + size
        sets.append(units)
        if kind == "sps":
            if pos >= len(data):
                return None
            count, pos = data[pos], pos + 1
    return AvcConfig(data[1], data[2], data[3], (data[4] & 3) + 1, tuple(sets[0]), tuple(sets[1]))


def length_prefixed_units(data: bytes, length_size: int) -> list[bytes]:
    """The NAL units of a packet whose units are prefixed by their length (mp4, Matroska)."""
    units, pos = [], 0
    while pos + length_size <= len(data):
        size = int.from_bytes(data[pos : pos + length_size], "big")
        units.append(data[pos + length_size : pos + length_size + size])
        pos += length_size + size
    return units


def annexb_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B buffer (start codes; an encoder's output and extradata)."""
    return [unit.rstrip(b"\x00") for unit in START_CODE.split(bytes(data))[1:]]


def to_length_prefixed(units: list[bytes], length_size: int) -> bytes:
    """NAL units joined with length prefixes of `length_size` bytes."""
    return b"".join(len(unit).to_bytes(length_size, "big") + unit for unit in units)


def nal_type(unit: bytes) -> int:
    return unit[0] & 0x1F


def disposable(data: bytes, length_size: int) -> bool:
    """Whether no other frame refers to this packet's frame (nal_ref_idc 0 in every slice): a decoder may skip it
    (as FFmpeg's skip_frame NONREF does) and still decode every other frame exactly."""
    slices = [u for u in length_prefixed_units(data, length_size) if u and 1 <= nal_type(u) <= NAL_IDR]
    return bool(slices) and all(u[0] & 0x60 == 0 for u in slices)


def param_set_id(unit: bytes) -> int:
    """The id of a sequence (seq_parameter_set_id) or picture (pic_parameter_set_id) parameter set."""
    head = 4 if nal_type(unit) == NAL_SPS else 1  # an SPS starts with profile, constraint flags and level
    rbsp = unit[head : head + 8].replace(b"\x00\x00\x03", b"\x00\x00")
    bits = "".join(f"{byte:08b}" for byte in rbsp)
    zeros = len(bits) - len(bits.lstrip("0"))  # Exp-Golomb: n zeros, then n + 1 bits of value + 1
    return int(bits[zeros : 2 * zeros + 1], 2) - 1
