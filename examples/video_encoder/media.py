"""The ffmpeg side of the example: which binary, what to run, and how to read what it reports.

Commands are built here as argument lists and run elsewhere (``consumerkit.run_process`` in the worker), so the
worker reads as queue logic and this module as media logic. ffmpeg comes from the ``imageio-ffmpeg`` wheel, so
nothing needs installing on the system; ``$FFMPEG`` points at another build.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg  # type: ignore[import-untyped]

# x264's speed presets, fastest first: the only values a job may ask for (anything else is a typo or an attack)
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
CONTAINERS = (".mp4", ".mkv", ".mov")
HEIGHTS = range(16, 2161, 2)  # x264 with 4:2:0 chroma needs even dimensions


def ffmpeg() -> str:
    return os.environ.get("FFMPEG") or str(imageio_ffmpeg.get_ffmpeg_exe())


def clip_command(target: Path, *, seconds: float, width: int = 320, height: int = 240) -> list[str]:
    """A clip from lavfi's synthetic sources: the test card with a running counter, and a 440 Hz tone."""
    return [
        ffmpeg(), "-nostdin", "-y", "-loglevel", "error",
        "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size={width}x{height}:rate=25",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        str(target),
    ]  # fmt: skip


def transcode_command(source: Path, target: Path, *, height: int, preset: str, realtime: bool) -> list[str]:
    """Scale to ``height`` (keeping the aspect ratio), H.264 and AAC, one thread per encode so that the
    handler's concurrency matches the cores. ``-progress pipe:1`` writes key=value lines to stdout, which the
    worker reads for a summary. ``realtime`` (``-re``) reads the input no faster than it plays: an encode then
    lasts as long as the clip, a stand-in for a heavy encode on a fast machine."""
    pace = ["-re"] if realtime else []
    return [
        ffmpeg(), "-nostdin", "-y", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
        *pace, "-i", str(source),
        "-vf", f"scale=-2:{height}", "-c:v", "libx264", "-preset", preset, "-threads", "1",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart",
        str(target),
    ]  # fmt: skip


@dataclass(frozen=True)
class Progress:
    """ffmpeg's last progress report: frames written, media time encoded, and speed against real time."""

    frames: int
    seconds: float
    speed: str

    @classmethod
    def parse(cls, output: bytes) -> Progress:
        """The last value of each key wins: ffmpeg repeats the whole block every half second."""
        fields: dict[str, str] = {}
        for line in output.decode(errors="replace").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value.strip()
        frames = int(fields.get("frame", "0") or 0)
        micros = fields.get("out_time_us", "0")
        seconds = int(micros) / 1e6 if micros.isdigit() else 0.0
        return cls(frames, seconds, fields.get("speed", "?"))


@dataclass(frozen=True)
class Probe:
    """What a media file holds, as ffmpeg reads it back: its duration and its streams' kinds."""

    duration: float
    streams: tuple[str, ...]  # "video", "audio", ...


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #\d+:\d+.*?: (Video|Audio|Subtitle|Data):")


def probe(path: Path) -> Probe:
    """Read a file's header with ffmpeg itself (the wheel ships no ffprobe). Raises ValueError if ffmpeg
    cannot read it as media, which is what an unplayable output looks like."""
    result = subprocess.run(
        [ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, text=True, check=False
    )  # with no output file ffmpeg exits 1 after printing the input's description on stderr
    found = _DURATION.search(result.stderr)
    if found is None:
        raise ValueError(f"{path}: not readable as media: {result.stderr.strip()[-300:]}")
    hours, minutes, seconds = found.groups()
    duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return Probe(duration, tuple(kind.lower() for kind in _STREAM.findall(result.stderr)))
