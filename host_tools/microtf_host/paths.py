"""Where things are in a microtf checkout."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
ENGINE = FIRMWARE / "engine"
OPS_DEF = ENGINE / "ops.def"
BUILD = ROOT / "build"
MODELS = ROOT / "models"
SHARED_MODELS = ROOT.parent / "shared" / "models"
