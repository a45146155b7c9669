"""One package per competition track; each depends on `shared`, never on another track.

``import shared`` comes first: it pins the CPU dispatch before numpy and friends are loaded."""

import shared  # noqa: F401
