"""The sandbox's pictures: real PNG files drawn with the standard library, and read back.

:func:`picture` draws a sky, a sun and a caption bar holding the prompt in a 5×7 pixel font,
and keeps the prompt in an ``iTXt`` chunk too. :func:`read_caption` is the sandbox's OCR: the
``iTXt`` text when it is there, else the caption's pixels matched against the font (so an
image re-saved without its text chunks still reads). :func:`image_info` is what the tutor
says about an image it is sent: its format and pixel size, from the header.

Nothing here is shared with the client: the sandbox parses what it is sent on its own.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

__all__ = ["TEXT_KEY", "image_info", "picture", "png_text", "read_caption"]

TEXT_KEY = "puter-sandbox:prompt"
BAR = (24, 26, 38)
INK = (250, 250, 245)
MAX_LINES = 6
MAX_DECODE_PIXELS = 1_200_000  # pixel OCR only for pictures of the sandbox's sizes

# -- the 5×7 pixel font: capitals, digits and common punctuation; each glyph is seven rows of
# five cells (``#`` on). The caption is drawn with it and the OCR reads the pixels back by it.

_FONT = """
A .###. #...# #...# ##### #...# #...# #...#
B ####. #...# #...# ####. #...# #...# ####.
C .###. #...# #.... #.... #.... #...# .###.
D ####. #...# #...# #...# #...# #...# ####.
E ##### #.... #.... ####. #.... #.... #####
F ##### #.... #.... ####. #.... #.... #....
G .###. #...# #.... #.### #...# #...# .####
H #...# #...# #...# ##### #...# #...# #...#
I .###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
J ..### ...#. ...#. ...#. ...#. #..#. .##..
K #...# #..#. #.#.. ##... #.#.. #..#. #...#
L #.... #.... #.... #.... #.... #.... #####
M #...# ##.## #.#.# #.#.# #...# #...# #...#
N #...# #...# ##..# #.#.# #..## #...# #...#
O .###. #...# #...# #...# #...# #...# .###.
P ####. #...# #...# ####. #.... #.... #....
Q .###. #...# #...# #...# #.#.# #..#. .##.#
R ####. #...# #...# ####. #.#.. #..#. #...#
S .#### #.... #.... .###. ....# ....# ####.
T ##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..
U #...# #...# #...# #...# #...# #...# .###.
V #...# #...# #...# #...# #...# .#.#. ..#..
W #...# #...# #...# #.#.# #.#.# #.#.# .#.#.
X #...# #...# .#.#. ..#.. .#.#. #...# #...#
Y #...# #...# .#.#. ..#.. ..#.. ..#.. ..#..
Z ##### ....# ...#. ..#.. .#... #.... #####
0 .###. #...# #..## #.#.# ##..# #...# .###.
1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.
2 .###. #...# ....# ...#. ..#.. .#... #####
3 ##### ...#. ..#.. ...#. ....# #...# .###.
4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.
5 ##### #.... ####. ....# ....# #...# .###.
6 ..##. .#... #.... ####. #...# #...# .###.
7 ##### ....# ...#. ..#.. .#... .#... .#...
8 .###. #...# #...# .###. #...# #...# .###.
9 .###. #...# #...# .#### ....# ...#. .##..
. ..... ..... ..... ..... ..... .##.. .##..
, ..... ..... ..... ..... .##.. ..#.. .#...
! ..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..
? .###. #...# ....# ...#. ..#.. ..... ..#..
' ..#.. ..#.. .#... ..... ..... ..... .....
- ..... ..... ..... ##### ..... ..... .....
: ..... .##.. .##.. ..... .##.. .##.. .....
; ..... .##.. .##.. ..... .##.. ..#.. .#...
( ...#. ..#.. .#... .#... .#... ..#.. ...#.
) .#... ..#.. ...#. ...#. ...#. ..#.. .#...
/ ..... ....# ...#. ..#.. .#... #.... .....
" .#.#. .#.#. ..... ..... ..... ..... .....
+ ..... ..#.. ..#.. ##### ..#.. ..#.. .....
= ..... ..... ##### ..... ##### ..... .....
"""

GLYPH_WIDTH = 5
GLYPH_HEIGHT = 7


def _parse() -> dict[str, tuple[str, ...]]:
    glyphs: dict[str, tuple[str, ...]] = {}
    for line in _FONT.strip().splitlines():
        char, rows = line[0], tuple(line[2:].split())
        assert len(rows) == GLYPH_HEIGHT and all(len(r) == GLYPH_WIDTH for r in rows), char
        glyphs[char] = rows
    return glyphs


GLYPHS = _parse()
BY_PATTERN = {"".join(rows): char for char, rows in GLYPHS.items()}
assert len(BY_PATTERN) == len(GLYPHS), "two glyphs look the same"


def glyph(char: str) -> tuple[str, ...]:
    """The rows of *char* (capitals for small letters; ``?`` for what the font lacks)."""
    return GLYPHS.get(char.upper(), GLYPHS["?"])


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _layout(width: int) -> tuple[int, int, int, int]:
    """scale, margin, cell width and line height of the caption for a picture *width* wide."""
    scale = max(1, width // 170)
    return scale, 3 * scale, (GLYPH_WIDTH + 1) * scale, (GLYPH_HEIGHT + 3) * scale


def _wrap(text: str, columns: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.upper().splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            while len(word) > columns:
                if current:
                    lines.append(current)
                    current = ""
                lines.append(word[:columns])
                word = word[columns:]
            candidate = f"{current} {word}" if current else word
            if len(candidate) > columns:
                lines.append(current)
                current = word
            else:
                current = candidate
        if current:
            lines.append(current)
    lines = [line for line in lines if line] or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: columns - 3] + "..."
    return lines


def picture(prompt: str, width: int, height: int) -> bytes:
    """A PNG of *width* × *height*: a sky coloured by the prompt, a sun, the prompt as a caption."""
    seed = hashlib.sha256(prompt.encode()).digest()
    top = (40 + seed[0] % 60, 90 + seed[1] % 80, 150 + seed[2] % 100)
    bottom = (230, 140 + seed[3] % 80, 90 + seed[4] % 60)
    scale, margin, cell, line_height = _layout(width)
    lines = _wrap(prompt, max(1, (width - 2 * margin) // cell))
    bar_top = max(0, height - (len(lines) * line_height + 2 * margin))
    sun_x, sun_y = width * (2 + seed[5] % 6) // 10, bar_top * (3 + seed[6] % 3) // 10
    radius = max(2, min(width, height) // 9)
    rows: list[bytearray] = []
    for y in range(height):
        if y >= bar_top:
            rows.append(bytearray(bytes(BAR) * width))
            continue
        t = y / max(1, bar_top - 1)
        colour = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        row = bytearray(colour * width)
        dy = y - sun_y
        if abs(dy) < radius:
            half = int((radius * radius - dy * dy) ** 0.5)
            left, right = max(0, sun_x - half), min(width, sun_x + half)
            if right > left:
                row[3 * left : 3 * right] = bytes((255, 214, 90)) * (right - left)
        rows.append(row)
    ink = bytes(INK) * scale
    for number, text in enumerate(lines):
        y0 = bar_top + margin + number * line_height
        for column, char in enumerate(text):
            x0 = margin + column * cell
            for gy, pattern in enumerate(glyph(char) if char != " " else ()):
                for gx, on in enumerate(pattern):
                    if on != "#":
                        continue
                    for dy in range(scale):
                        y = y0 + gy * scale + dy
                        if y < height:
                            x = x0 + gx * scale
                            rows[y][3 * x : 3 * (x + scale)] = ink[: 3 * max(0, min(scale, width - x))]
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    text_chunk = TEXT_KEY.encode("latin-1") + b"\x00\x00\x00\x00\x00" + prompt.encode("utf-8")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _chunk(b"iTXt", text_chunk)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out = []
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        out.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if kind == b"IEND":
            break
    return out


def png_text(data: bytes) -> str | None:
    """The prompt the sandbox kept in a PNG's ``iTXt`` (or ``tEXt``) chunk."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    for kind, body in _chunks(data):
        key, _, rest = body.partition(b"\x00")
        if key.decode("latin-1") != TEXT_KEY:
            continue
        if kind == b"tEXt":
            return rest.decode("latin-1")
        if kind == b"iTXt" and len(rest) >= 2:
            compressed, tail = rest[0], rest[2:]
            _, _, tail = tail.partition(b"\x00")  # language tag
            _, _, text = tail.partition(b"\x00")  # translated keyword
            return (zlib.decompress(text) if compressed else text).decode("utf-8", "replace")
    return None


def _pixels(data: bytes) -> tuple[int, int, int, bytes] | None:
    """width, height, bytes per pixel and the unfiltered rows of an 8-bit RGB(A)/grey PNG."""
    chunks = _chunks(data)
    if not chunks or chunks[0][0] != b"IHDR":
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or bpp is None or interlace or width * height > MAX_DECODE_PIXELS:
        return None
    try:
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    except zlib.error:
        return None
    stride = width * bpp
    out = bytearray()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if len(line) < stride:
            return None
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + (left + previous[i]) // 2) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out += line
        previous = line
    return width, height, bpp, bytes(out)


def _read_pixels(data: bytes) -> str | None:
    decoded = _pixels(data)
    if decoded is None:
        return None
    width, height, bpp, px = decoded

    def bright(x: int, y: int) -> bool:
        i = (y * width + x) * bpp
        return sum(px[i : i + min(bpp, 3)]) > 150 * min(bpp, 3)

    def is_bar(y: int) -> bool:
        i = (y * width + 1) * bpp
        return bpp >= 3 and all(abs(px[i + k] - BAR[k]) <= 8 for k in range(3))

    scale, margin, cell, line_height = _layout(width)
    bar_top = height
    while bar_top > 0 and is_bar(bar_top - 1):
        bar_top -= 1
    if bar_top == height:
        return None
    lines = []
    for number in range((height - bar_top - 2 * margin) // line_height):
        y0 = bar_top + margin + number * line_height
        chars = []
        for column in range((width - 2 * margin) // cell):
            x0 = margin + column * cell
            pattern = "".join(
                "#" if bright(x0 + gx * scale + scale // 2, y0 + gy * scale + scale // 2) else "."
                for gy in range(GLYPH_HEIGHT)
                for gx in range(GLYPH_WIDTH)
            )
            chars.append(" " if "#" not in pattern else BY_PATTERN.get(pattern, "?"))
        lines.append("".join(chars).rstrip())
    text = "\n".join(line for line in lines if line)
    return text or None


def read_caption(data: bytes) -> str | None:
    """What the sandbox's OCR reads in an image: its kept prompt, else its caption's pixels."""
    return png_text(data) or _read_pixels(data)


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) of a PNG, JPEG, GIF or WebP, from its header."""
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            w, h = struct.unpack(">II", data[16:24])
            return "PNG", w, h
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return "GIF", w, h
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            if data[12:16] == b"VP8X":
                return (
                    "WebP",
                    int.from_bytes(data[24:27], "little") + 1,
                    int.from_bytes(data[27:30], "little") + 1,
                )
            if data[12:16] == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return "WebP", w & 0x3FFF, h & 0x3FFF
            bits = int.from_bytes(data[21:25], "little")
            return "WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if data.startswith(b"\xff\xd8"):
            pos = 2
            while pos + 9 < len(data) and data[pos] == 0xFF:
                marker = data[pos + 1]
                (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[pos + 5 : pos + 9])
                    return "JPEG", w, h
                pos += 2 + length
            return "JPEG", 0, 0
    except struct.error:
        return None
    return None
